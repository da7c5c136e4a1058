//! Identifier formats. Workspace ids are UUIDs (as ChatGPT workspace ids); user ids look like
//! OpenAI's `user-...`; credential ids are prefixed by kind.

pub fn workspace_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn user_id() -> String {
    format!("user-{}", uuid::Uuid::new_v4().simple())
}

pub fn credential_id() -> String {
    format!("cred-{}", uuid::Uuid::now_v7().simple())
}
