//! Codex tasks and environments with the Compliance API's semantics (wire-formats §2.5).
//!
//! A Codex task is a Codex thread (`conversation.id`) Steward stored events of; an environment
//! is a place threads ran (host name from the logs resource, working directory from traces).
//! Tasks list newest `updated_at` first and page with an opaque `cursor`; environments list
//! newest first and page with `after` = the last environment id. `limit` is 1 to 50, default 30.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use steward_store::{
    CodexEnvironment, CodexThread, EnvironmentCursor, EnvironmentQuery, ThreadCursor, ThreadQuery,
};

use super::{ComplianceError, ComplianceService};

/// Page size when `limit` is absent, and its bound (OpenAI's text says default 30; the
/// parameter schema allows 1 to 50).
pub const DEFAULT_TASK_LIMIT: u32 = 30;
pub const MAX_TASK_LIMIT: u32 = 50;

/// The query string of the tasks listing, as received.
#[derive(Debug, Clone, Default)]
pub struct TaskListParams {
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

/// The query string of the environments listing, as received.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentListParams {
    pub after: Option<String>,
    pub limit: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TaskPage {
    pub tasks: Vec<CodexThread>,
    pub has_more: bool,
    /// Where the next page starts (`None` when there is none).
    pub cursor: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EnvironmentPage {
    pub environments: Vec<CodexEnvironment>,
    pub has_more: bool,
    /// Id of the last environment listed (`None` on an empty page): the next page's `after`.
    pub last_id: Option<String>,
}

/// The content of a tasks cursor, before base64url: the last task's `updated_ms` and id.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CursorBody {
    u: i64,
    id: String,
}

fn encode_cursor(t: &CodexThread) -> String {
    let body = CursorBody {
        u: t.updated_ms,
        id: t.thread_id.clone(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).unwrap_or_default())
}

fn decode_cursor(s: &str) -> Result<ThreadCursor, ComplianceError> {
    let bad = || {
        ComplianceError::BadRequest(format!(
            "cursor {s:?} is not a cursor this API returned; pass the `cursor` of the previous page unchanged"
        ))
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| bad())?;
    let body: CursorBody = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(ThreadCursor {
        updated_ms: body.u,
        thread_id: body.id,
    })
}

fn parse_limit(limit: Option<&str>) -> Result<u32, ComplianceError> {
    match limit.map(str::trim) {
        None | Some("") => Ok(DEFAULT_TASK_LIMIT),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=i64::from(MAX_TASK_LIMIT)).contains(&n) => Ok(n as u32),
            _ => Err(ComplianceError::BadRequest(format!(
                "limit must be an integer from 1 to {MAX_TASK_LIMIT}, got {s:?}"
            ))),
        },
    }
}

fn parse_task_query(workspace_id: &str, p: &TaskListParams) -> Result<ThreadQuery, ComplianceError> {
    let limit = parse_limit(p.limit.as_deref())?;
    let after = match p.cursor.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(decode_cursor(s)?),
    };
    Ok(ThreadQuery {
        workspace_id: workspace_id.to_owned(),
        limit,
        after,
    })
}

/// The label Steward gives an environment: the host, and the last component of the working
/// directory when known (`devbox:api`).
pub fn environment_label(env: &CodexEnvironment) -> String {
    let dir = env.cwd.as_deref().and_then(|cwd| {
        cwd.trim_end_matches(['/', '\\'])
            .rsplit(['/', '\\'])
            .next()
            .filter(|s| !s.is_empty())
    });
    match dir {
        Some(dir) => format!("{}:{dir}", env.host_name),
        None => env.host_name.clone(),
    }
}

impl ComplianceService {
    /// One page of a workspace's Codex tasks, newest `updated_at` first.
    pub async fn list_codex_tasks(
        &self,
        workspace_id: &str,
        params: &TaskListParams,
    ) -> Result<TaskPage, ComplianceError> {
        let query = parse_task_query(workspace_id, params)?;
        let limit = query.limit as usize;
        let mut tasks = self
            .store
            .list_codex_threads(&ThreadQuery {
                limit: query.limit + 1,
                ..query
            })
            .await?;
        let has_more = tasks.len() > limit;
        tasks.truncate(limit);
        let cursor = if has_more {
            tasks.last().map(encode_cursor)
        } else {
            None
        };
        Ok(TaskPage {
            tasks,
            has_more,
            cursor,
        })
    }

    /// One Codex task (thread) of a workspace; `NotFound` when no stored event named it. Also
    /// what a deletion of the task looks up.
    pub async fn codex_task(
        &self,
        workspace_id: &str,
        task_id: &str,
    ) -> Result<CodexThread, ComplianceError> {
        self.store
            .get_codex_thread(workspace_id, task_id)
            .await?
            .ok_or_else(|| {
                ComplianceError::NotFound(format!("Codex task {task_id:?} not found in this workspace"))
            })
    }

    /// One page of a workspace's Codex environments, newest first.
    pub async fn list_codex_environments(
        &self,
        workspace_id: &str,
        params: &EnvironmentListParams,
    ) -> Result<EnvironmentPage, ComplianceError> {
        let limit = parse_limit(params.limit.as_deref())?;
        let after = match params.after.as_deref().map(str::trim) {
            None | Some("") => None,
            // Found even when its threads have all moved on, so a collector's position holds.
            Some(id) => match self.store.get_codex_environment(workspace_id, id).await? {
                Some(env) => Some(EnvironmentCursor {
                    created_ms: env.created_ms,
                    id: env.id,
                }),
                None => {
                    return Err(ComplianceError::BadRequest(format!(
                        "after {id:?} is not an environment of this workspace; pass the `last_id` of the previous page"
                    )))
                }
            },
        };
        let mut environments = self
            .store
            .list_codex_environments(&EnvironmentQuery {
                workspace_id: workspace_id.to_owned(),
                limit: limit + 1,
                after,
            })
            .await?;
        let has_more = environments.len() > limit as usize;
        environments.truncate(limit as usize);
        let last_id = environments.last().map(|e| e.id.clone());
        Ok(EnvironmentPage {
            environments,
            has_more,
            last_id,
        })
    }

    /// One Codex environment of a workspace; `NotFound` when unknown or when no thread is in
    /// it any more.
    pub async fn codex_environment(
        &self,
        workspace_id: &str,
        environment_id: &str,
    ) -> Result<CodexEnvironment, ComplianceError> {
        match self
            .store
            .get_codex_environment(workspace_id, environment_id)
            .await?
        {
            Some(env) if env.task_count > 0 => Ok(env),
            _ => Err(ComplianceError::NotFound(format!(
                "Codex environment {environment_id:?} not found in this workspace"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(updated_ms: i64, id: &str) -> CodexThread {
        CodexThread {
            workspace_id: "ws".into(),
            thread_id: id.into(),
            user_id: "user-1".into(),
            client_id: "CODEX_CLI".into(),
            model: None,
            created_ms: 0,
            updated_ms,
            turns: 0,
            input_tokens: 0,
            cached_input_tokens: 0,
            output_tokens: 0,
            reasoning_output_tokens: 0,
            host_name: None,
            cwd: None,
            environment_id: None,
        }
    }

    fn bad(p: TaskListParams) -> String {
        match parse_task_query("ws", &p) {
            Err(ComplianceError::BadRequest(m)) => m,
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_named() {
        let t = thread(1_767_204_410_902, "019c1e3a-77b2-7c1d-9a40-2f6b8e1d0c55");
        let c = encode_cursor(&t);
        assert!(
            c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'),
            "{c}"
        );
        let q = parse_task_query(
            "ws",
            &TaskListParams {
                cursor: Some(c),
                limit: Some("50".into()),
            },
        )
        .unwrap();
        assert_eq!(
            q.after,
            Some(ThreadCursor {
                updated_ms: t.updated_ms,
                thread_id: t.thread_id
            })
        );
        assert_eq!(q.limit, 50);
        for foreign in ["not base64!", "eyJ1IjoxfQ", "bnVsbA", "e30"] {
            let m = bad(TaskListParams {
                cursor: Some(foreign.into()),
                limit: None,
            });
            assert!(m.contains("cursor") && m.contains(foreign), "{m}");
        }
    }

    #[test]
    fn limits_default_to_30_and_run_from_1_to_50() {
        assert_eq!(
            parse_task_query("ws", &TaskListParams::default()).unwrap().limit,
            30
        );
        assert_eq!(parse_limit(Some("1")).unwrap(), 1);
        for l in ["0", "51", "-1", "ten", "2.5"] {
            let m = bad(TaskListParams {
                cursor: None,
                limit: Some(l.into()),
            });
            assert!(m.contains("limit must be an integer from 1 to 50"), "{m}");
        }
    }

    #[test]
    fn labels_name_the_host_and_the_directory() {
        let env = |cwd: Option<&str>| CodexEnvironment {
            workspace_id: "ws".into(),
            id: "env_x".into(),
            host_name: "devbox".into(),
            cwd: cwd.map(str::to_owned),
            created_ms: 0,
            creator_id: None,
            task_count: 1,
        };
        assert_eq!(environment_label(&env(None)), "devbox");
        assert_eq!(environment_label(&env(Some("/home/dev/api/"))), "devbox:api");
        assert_eq!(environment_label(&env(Some("C:\\src\\web"))), "devbox:web");
        assert_eq!(environment_label(&env(Some("/"))), "devbox");
    }
}
