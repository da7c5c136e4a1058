//! SCIM 2.0 at `/scim/v2` against a real `steward serve` (SQLite): the request sequences Okta
//! and Entra ID send (provisioning, lookups by filter, deactivation that stops the user's
//! ingest token at once, groups and their members, replacement, deletion); malformed filters
//! and PATCH operations answer SCIM errors with the right `scimType` and change nothing;
//! authentication (401 without a key or with a revoked one, 403 without the `scim` scope); and
//! workspace isolation (a SCIM key of another workspace sees nothing of this one).

mod common;
mod compliance;
#[path = "common/policy.rs"]
mod policy;

use common::{codex_resource, now_ms, post, protobuf, request, turn_records, Tokens};
use compliance::harness::{str_field, Env, Reply, NO_AUTO_SEAL, USER};
use policy::{key, key_in, send, Body};
use reqwest::Method;
use serde_json::{json, Value};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

struct Scim {
    env: Env,
    /// An API key with scope `scim`.
    key: String,
}

impl Scim {
    async fn start() -> Scim {
        let env = Env::start(&[NO_AUTO_SEAL]).await;
        let key = key(&env, &["scim"], "okta");
        Scim { env, key }
    }

    async fn call_as(&self, bearer: Option<&str>, method: Method, path: &str, body: Option<Value>) -> Reply {
        // Identity providers send application/scim+json.
        let body = body.map(|v| Body::Raw {
            content_type: Some("application/scim+json"),
            bytes: v.to_string().into_bytes(),
        });
        send(&self.env, method, &format!("/scim/v2{path}"), bearer, body).await
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_as(Some(&self.key), method, path, body).await
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
        let r = self.call(method.clone(), path, body).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/scim+json"),
            "{method} {path}"
        );
        r.json()
    }

    async fn get(&self, path: &str) -> Value {
        self.ok(Method::GET, path, None, 200).await
    }

    async fn patch(&self, path: &str, ops: Value) -> Value {
        self.ok(
            Method::PATCH,
            path,
            Some(json!({"schemas": [PATCH_OP], "Operations": ops})),
            200,
        )
        .await
    }

    /// `GET /Users?filter=...` (URL-encoded).
    async fn filter(&self, collection: &str, filter: &str) -> Value {
        let r = send(
            &self.env,
            Method::GET,
            &format!("/scim/v2/{collection}?filter={}", urlencode(filter)),
            Some(&self.key),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "filter {filter}: {}", r.text());
        r.json()
    }

    /// POSTs one Codex turn to `/v1/logs` with `token`; the HTTP status.
    async fn ingest(&self, token: &str) -> u16 {
        let body = protobuf(&request(
            codex_resource(),
            turn_records(
                &format!("thread-{}", now_ms()),
                now_ms(),
                Tokens {
                    input: 10,
                    cached: 0,
                    output: 5,
                },
                "gpt-5",
            ),
        ));
        let url = format!("{}/v1/logs", self.env.server.base_url());
        post(&url, Some(token), "application/x-protobuf", None, body)
            .await
            .0
    }

    fn user_id_by_email(&self, email: &str) -> String {
        let users = self.env.cli_json(&["users", "list"]);
        let user = users
            .as_array()
            .and_then(|a| a.iter().find(|u| u["email"] == email))
            .unwrap_or_else(|| panic!("no user {email} in {users}"));
        str_field(user, "id")
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn resources(list: &Value) -> Vec<Value> {
    assert_eq!(
        list["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:ListResponse",
        "{list}"
    );
    list["Resources"].as_array().cloned().unwrap_or_default()
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// A SCIM error body with this status and `scimType`.
fn expect_scim_error(r: &Reply, status: u16, scim_type: Option<&str>, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/scim+json"),
        "{what}"
    );
    let body = r.json();
    assert_eq!(body["schemas"], json!([ERROR]), "{what}: {body}");
    assert_eq!(body["status"], json!(status.to_string()), "{what}: {body}");
    assert_eq!(body["scimType"].as_str(), scim_type, "{what}: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_provisioning_sequence() {
    let s = Scim::start().await;
    // The user is known from before (`steward users add`, as telemetry would): not yet SCIM's.
    let known_id = s.user_id_by_email(USER);
    let filter = format!("userName eq \"{USER}\"");
    assert_eq!(s.filter("Users", &filter).await["totalResults"], 0);
    assert_eq!(s.ingest(&s.env.ingest_token).await, 200, "the token works before");

    // Okta's create: adopts the known row (same id: history and policies stay).
    let created = s
        .ok(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": [USER_SCHEMA],
                "userName": USER,
                "name": {"givenName": "Dev", "familyName": "User"},
                "emails": [{"primary": true, "value": USER, "type": "work"}],
                "displayName": "Dev User",
                "locale": "en-US",
                "externalId": "00u1abcd",
                "groups": [],
                "password": "never-stored-1!",
                "active": true
            })),
            201,
        )
        .await;
    let id = str_field(&created, "id");
    assert_eq!(id, known_id, "adopted, not duplicated: {created}");
    assert_eq!(created["userName"], USER);
    assert_eq!(created["active"], true);
    assert_eq!(created["name"]["givenName"], "Dev");
    assert!(
        created.get("password").is_none(),
        "passwords are never stored: {created}"
    );
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(
        created["meta"]["location"],
        format!("{}/scim/v2/Users/{id}", s.env.server.base_url())
    );
    // A second POST of the same userName: 409 uniqueness.
    let dup = s
        .call(
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER_SCHEMA], "userName": USER.to_uppercase()})),
        )
        .await;
    expect_scim_error(&dup, 409, Some("uniqueness"), "duplicate userName");

    // Okta looks the user up by userName (case-insensitively) and by id.
    for f in [filter.clone(), format!("userName eq \"{}\"", USER.to_uppercase())] {
        let found = resources(&s.filter("Users", &f).await);
        assert_eq!(found.len(), 1, "{f}");
        assert_eq!(found[0]["id"], id.as_str());
    }
    assert_eq!(s.get(&format!("/Users/{id}")).await["externalId"], "00u1abcd");

    // A second person, for group membership.
    let second = s
        .ok(
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER_SCHEMA], "userName": "second@example.com",
                        "emails": [{"primary": true, "value": "second@example.com", "type": "work"}],
                        "name": {"givenName": "Sec", "familyName": "Ond"}, "active": true})),
            201,
        )
        .await;
    let id2 = str_field(&second, "id");

    // Okta pushes a group with members, then adds and removes members by PATCH.
    let group = s
        .ok(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "Engineering",
                        "members": [{"value": id, "display": USER}]})),
            201,
        )
        .await;
    let gid = str_field(&group, "id");
    assert_eq!(member_ids(&group), vec![id.clone()]);
    assert_eq!(group["members"][0]["type"], "User");
    let after = s
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "add", "path": "members", "value": [{"value": id2, "display": "second@example.com"}]}]),
        )
        .await;
    let mut both = vec![id.clone(), id2.clone()];
    both.sort();
    assert_eq!(member_ids(&after), both);
    let after = s
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]),
        )
        .await;
    assert_eq!(member_ids(&after), vec![id2.clone()]);
    // Okta renames with the id repeated in the value, and replaces the member list.
    let after = s
        .patch(
            &format!("/Groups/{gid}"),
            json!([
                {"op": "replace", "value": {"id": gid, "displayName": "Engineering Team"}},
                {"op": "replace", "path": "members", "value": [{"value": id, "display": USER}]}
            ]),
        )
        .await;
    assert_eq!(after["displayName"], "Engineering Team");
    assert_eq!(member_ids(&after), vec![id.clone()]);
    // The group is a policy group too, managed by SCIM.
    let listed = s.env.cli_json(&["groups", "list"]);
    let g = listed
        .as_array()
        .and_then(|a| a.iter().find(|g| g["name"] == "Engineering Team"))
        .unwrap_or_else(|| panic!("the SCIM group is listed by `steward groups list`: {listed}"));
    assert_eq!(g["source"], "scim");
    // PUT (Okta's group push with "replace"): name and members replaced.
    let put = s
        .ok(
            Method::PUT,
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [GROUP_SCHEMA], "id": gid, "displayName": "Eng",
                        "members": [{"value": id}, {"value": id2}]})),
            200,
        )
        .await;
    assert_eq!(put["displayName"], "Eng");
    assert_eq!(member_ids(&put), both);
    let by_name = resources(&s.filter("Groups", "displayName eq \"eng\"").await);
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0]["id"], gid.as_str());

    // Deactivation: Okta's PATCH; the user's ingest token stops at once.
    let off = s
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(off["active"], false);
    assert_eq!(
        s.ingest(&s.env.ingest_token).await,
        401,
        "a deactivated user's token is revoked"
    );
    assert_eq!(s.get(&format!("/Users/{id}")).await["active"], false);
    // Okta's PUT of the whole user keeps it deactivated and changes its name.
    let mut put_user = s.get(&format!("/Users/{id}")).await;
    put_user["name"]["givenName"] = json!("Developer");
    let put_user = s
        .ok(Method::PUT, &format!("/Users/{id}"), Some(put_user), 200)
        .await;
    assert_eq!(put_user["name"]["givenName"], "Developer");
    assert_eq!(put_user["active"], false);

    // Deletes: the group, then the user (gone for SCIM; its row stays for its events).
    let r = s.call(Method::DELETE, &format!("/Groups/{gid}"), None).await;
    assert_eq!(r.status, 204, "{}", r.text());
    expect_scim_error(
        &s.call(Method::GET, &format!("/Groups/{gid}"), None).await,
        404,
        None,
        "deleted group",
    );
    let r = s.call(Method::DELETE, &format!("/Users/{id2}"), None).await;
    assert_eq!(r.status, 204, "{}", r.text());
    expect_scim_error(
        &s.call(Method::GET, &format!("/Users/{id2}"), None).await,
        404,
        None,
        "deleted user",
    );
    assert_eq!(
        s.filter("Users", "userName eq \"second@example.com\"").await["totalResults"],
        0
    );
    let users = s.env.cli_json(&["users", "list"]);
    assert!(
        users.as_array().is_some_and(|a| a
            .iter()
            .any(|u| u["id"] == id2.as_str() && u["deleted_at_ms"].is_i64())),
        "the row stays, marked deleted: {users}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_id_provisioning_sequence() {
    let s = Scim::start().await;
    let email = "entra.user@contoso.com";
    // Entra ID's probe for a user that does not exist: an empty list, not an error.
    let probe = s.filter("Users", &format!("userName eq \"{email}\"")).await;
    assert_eq!(probe["totalResults"], 0);
    assert_eq!(resources(&probe), Vec::<Value>::new());

    let created = s
        .ok(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": [USER_SCHEMA, ENTERPRISE],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "userName": email,
                "active": true,
                "displayName": "Entra User",
                "emails": [{"primary": true, "type": "work", "value": email}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "Entra User", "familyName": "User", "givenName": "Entra"},
                "roles": [],
                ENTERPRISE: {"department": "Engineering", "employeeNumber": "42"}
            })),
            201,
        )
        .await;
    let id = str_field(&created, "id");
    assert_eq!(created[ENTERPRISE]["department"], "Engineering");
    assert!(created["schemas"]
        .as_array()
        .is_some_and(|a| a.contains(&json!(ENTERPRISE))));
    // Steward links the person by email: a token for them works.
    let token = str_field(&s.env.cli_json(&["tokens", "create", "--user", email]), "token");
    assert_eq!(s.user_id_by_email(email), id);
    assert_eq!(s.ingest(&token).await, 200);

    // Entra's PATCH: capitalised ops, value filters, extension paths, a manager by id.
    let patched = s
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": "displayName", "value": "Entra U."},
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": email},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
                {"op": "Replace", "path": "name.givenName", "value": "Ent"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Research"},
                {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "manager-id-1"}
            ]),
        )
        .await;
    assert_eq!(patched["displayName"], "Entra U.");
    assert_eq!(patched["name"]["givenName"], "Ent");
    assert_eq!(patched["name"]["familyName"], "User");
    assert_eq!(
        patched["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}])
    );
    assert_eq!(patched[ENTERPRISE]["department"], "Research");
    assert_eq!(patched[ENTERPRISE]["manager"]["value"], "manager-id-1");
    assert_eq!(patched["emails"].as_array().map(Vec::len), Some(1));
    let by_ext = resources(
        &s.filter("Users", "externalId eq \"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159\"")
            .await,
    );
    assert_eq!(by_ext.len(), 1);

    // Groups: create empty, add and remove members the way Entra ID does.
    let group = s
        .ok(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP_SCHEMA], "externalId": "g-e1", "displayName": "Entra Group", "members": []})),
            201,
        )
        .await;
    let gid = str_field(&group, "id");
    s.patch(
        &format!("/Groups/{gid}"),
        json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]),
    )
    .await;
    let listed = s
        .call(
            Method::GET,
            &format!(
                "/Groups?filter={}&excludedAttributes=members",
                urlencode("displayName eq \"Entra Group\"")
            ),
            None,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    let listed = resources(&listed.json());
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].get("members").is_none(),
        "excludedAttributes=members: {}",
        listed[0]
    );
    let member_filter = format!("id eq \"{gid}\" and members[value eq \"{id}\"]");
    assert_eq!(resources(&s.filter("Groups", &member_filter).await).len(), 1);
    assert_eq!(
        member_ids(&s.get(&format!("/Groups/{gid}")).await),
        vec![id.clone()]
    );
    let removed = s
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Remove", "path": "members", "value": [{"value": id}]}]),
        )
        .await;
    assert!(member_ids(&removed).is_empty(), "{removed}");
    assert_eq!(resources(&s.filter("Groups", &member_filter).await).len(), 0);

    // Entra ID disables with a string boolean: the token stops at once.
    let off = s
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(off["active"], false);
    assert_eq!(s.ingest(&token).await, 401);
    assert_eq!(
        resources(&s.filter("Users", "active eq false").await)
            .iter()
            .filter(|u| u["id"] == id.as_str())
            .count(),
        1
    );
    for path in [format!("/Groups/{gid}"), format!("/Users/{id}")] {
        let r = s.call(Method::DELETE, &path, None).await;
        assert_eq!(r.status, 204, "DELETE {path}: {}", r.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_filters_and_patches_are_scim_errors_and_change_nothing() {
    let s = Scim::start().await;
    let user = s
        .ok(
            Method::POST,
            "/Users",
            Some(
                json!({"schemas": [USER_SCHEMA], "userName": "p@example.com", "title": "Engineer",
                        "emails": [{"value": "p@example.com", "type": "work", "primary": true}]}),
            ),
            201,
        )
        .await;
    let id = str_field(&user, "id");
    let group = s
        .ok(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"value": id}]})),
            201,
        )
        .await;
    let gid = str_field(&group, "id");

    for bad in [
        "userName eq",
        "userName xx \"a\"",
        "userName eq \"unterminated",
        "(userName eq \"a\"",
        "userName eq \"a\" and",
        "emails[type eq \"work\"",
        "userName eq bare",
        "active co true",
    ] {
        let r = s
            .call(Method::GET, &format!("/Users?filter={}", urlencode(bad)), None)
            .await;
        expect_scim_error(&r, 400, Some("invalidFilter"), bad);
    }
    let r = s
        .call(
            Method::POST,
            "/Users/.search",
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq"})),
        )
        .await;
    expect_scim_error(&r, 400, Some("invalidFilter"), "search with a bad filter");

    let user_path = format!("/Users/{id}");
    let group_path = format!("/Groups/{gid}");
    let before_user = s.get(&user_path).await;
    let before_group = s.get(&group_path).await;
    // Each request starts with a valid operation: it must not be applied either.
    let good = json!({"op": "replace", "path": "title", "value": "CHANGED"});
    let (user_path, group_path) = (user_path.as_str(), group_path.as_str());
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            user_path,
            json!({"op": "replace", "path": "nosuch", "value": "x"}),
            "invalidPath",
        ),
        (
            user_path,
            json!({"op": "replace", "path": "name.nosuch", "value": "x"}),
            "invalidPath",
        ),
        (
            user_path,
            json!({"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}),
            "invalidPath",
        ),
        (
            user_path,
            json!({"op": "replace", "path": "active", "value": "sometimes"}),
            "invalidValue",
        ),
        (user_path, json!({"op": "add", "path": "title"}), "invalidValue"),
        (
            user_path,
            json!({"op": "remove", "path": "userName"}),
            "invalidValue",
        ),
        (user_path, json!({"op": "remove"}), "noTarget"),
        (
            user_path,
            json!({"op": "replace", "path": "emails[type eq \"home\" or primary eq false].value", "value": "h@x.io"}),
            "noTarget",
        ),
        (
            user_path,
            json!({"op": "replace", "path": "id", "value": "x"}),
            "mutability",
        ),
        (
            user_path,
            json!({"op": "move", "path": "title", "value": "x"}),
            "invalidSyntax",
        ),
        (
            group_path,
            json!({"op": "add", "path": "members", "value": [{"value": "user-nobody"}]}),
            "invalidValue",
        ),
        (
            group_path,
            json!({"op": "replace", "path": "displayName", "value": 7}),
            "invalidValue",
        ),
    ];
    for (path, bad, scim_type) in cases {
        let good = if path == group_path {
            json!({"op": "replace", "path": "displayName", "value": "CHANGED"})
        } else {
            good.clone()
        };
        let body = json!({"schemas": [PATCH_OP], "Operations": [good, bad.clone()]});
        let r = s.call(Method::PATCH, path, Some(body)).await;
        expect_scim_error(&r, 400, Some(scim_type), &format!("PATCH {path} {bad}"));
    }
    let r = s
        .call(Method::PATCH, user_path, Some(json!({"Operations": []})))
        .await;
    expect_scim_error(&r, 400, Some("invalidSyntax"), "no operations");
    let r = send(
        &s.env,
        Method::PATCH,
        &format!("/scim/v2{user_path}"),
        Some(&s.key),
        Some(Body::Raw {
            content_type: Some("application/scim+json"),
            bytes: b"{not json".to_vec(),
        }),
    )
    .await;
    expect_scim_error(&r, 400, Some("invalidSyntax"), "malformed JSON");
    let r = s
        .call(
            Method::PUT,
            user_path,
            Some(json!({"schemas": [USER_SCHEMA], "title": "no userName"})),
        )
        .await;
    expect_scim_error(&r, 400, Some("invalidValue"), "PUT without userName");
    let r = s
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "G"})),
        )
        .await;
    expect_scim_error(&r, 409, Some("uniqueness"), "duplicate group name");
    expect_scim_error(
        &s.call(
            Method::PATCH,
            "/Users/user-nobody",
            Some(json!({"Operations": [good.clone()]})),
        )
        .await,
        404,
        None,
        "PATCH of an unknown user",
    );

    let mut after_user = s.get(user_path).await;
    let mut after_group = s.get(group_path).await;
    for v in [&mut after_user, &mut after_group] {
        assert!(v["meta"]["lastModified"].is_string());
    }
    assert_eq!(after_user, before_user, "no refused request changed the user");
    assert_eq!(after_group, before_group, "no refused request changed the group");
    assert_eq!(after_user["title"], "Engineer");

    // Unknown endpoints and methods: SCIM errors too.
    expect_scim_error(
        &s.call(Method::GET, "/Nope", None).await,
        404,
        None,
        "unknown endpoint",
    );
    expect_scim_error(
        &s.call(Method::DELETE, "/ServiceProviderConfig", None).await,
        405,
        None,
        "DELETE /ServiceProviderConfig",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_scope_and_workspace_isolation() {
    let s = Scim::start().await;
    let created = s
        .ok(
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER_SCHEMA], "userName": "iso@example.com"})),
            201,
        )
        .await;
    let id = str_field(&created, "id");
    let user_path = format!("/Users/{id}");
    let paths = [
        "/Users",
        "/Groups",
        "/ServiceProviderConfig",
        "/Schemas",
        user_path.as_str(),
    ];

    // No key, a malformed header, an unknown key: 401 with a SCIM body.
    for bearer in [None, Some("not-a-key")] {
        for p in paths {
            let r = s.call_as(bearer, Method::GET, p, None).await;
            expect_scim_error(&r, 401, None, &format!("GET {p} with {bearer:?}"));
            assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"));
        }
    }
    // A revoked key: 401.
    let revoked = s
        .env
        .cli_json(&["keys", "create", "--scope", "scim", "--name", "old-idp"]);
    let (revoked_key, revoked_id) = (str_field(&revoked, "key"), str_field(&revoked, "id"));
    assert_eq!(
        s.call_as(Some(&revoked_key), Method::GET, "/Users", None)
            .await
            .status,
        200
    );
    s.env.cli_json(&["keys", "revoke", &revoked_id]);
    for p in paths {
        let r = s.call_as(Some(&revoked_key), Method::GET, p, None).await;
        expect_scim_error(&r, 401, None, &format!("GET {p} with a revoked key"));
    }
    // A key without `scim` (the harness's compliance.read key, and an ingest token): 403 / 401.
    for p in paths {
        let r = s.call_as(Some(&s.env.key), Method::GET, p, None).await;
        expect_scim_error(&r, 403, None, &format!("GET {p} with a compliance.read key"));
    }
    let r = s
        .call_as(
            Some(&s.env.key),
            Method::POST,
            "/Users",
            Some(json!({"userName": "x@example.com"})),
        )
        .await;
    expect_scim_error(&r, 403, None, "POST with a compliance.read key");
    let r = s
        .call_as(Some(&s.env.ingest_token), Method::GET, "/Users", None)
        .await;
    expect_scim_error(&r, 403, None, "an ingest token");

    // A SCIM key of a second workspace sees nothing of the first.
    let ws2 = {
        let store = steward_store_sqlite::SqliteStore::open(&s.env.data_dir().join("steward.db"))
            .await
            .expect("open the server's database");
        steward_store::Store::create_workspace(&store, "Second")
            .await
            .expect("second workspace")
            .id
    };
    let key2 = key_in(&s.env, &["scim"], "idp-2", &["--workspace-id", &ws2]);
    let list = s.call_as(Some(&key2), Method::GET, "/Users", None).await;
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(list.json()["totalResults"], 0);
    let r = s
        .call_as(
            Some(&key2),
            Method::GET,
            &format!("/Users?filter={}", urlencode("userName eq \"iso@example.com\"")),
            None,
        )
        .await;
    assert_eq!(r.json()["totalResults"], 0);
    for (method, body) in [
        (Method::GET, None),
        (
            Method::PATCH,
            Some(json!({"Operations": [{"op": "replace", "value": {"active": false}}]})),
        ),
        (
            Method::PUT,
            Some(json!({"userName": "iso@example.com", "active": false})),
        ),
        (Method::DELETE, None),
    ] {
        let r = s
            .call_as(Some(&key2), method.clone(), &format!("/Users/{id}"), body)
            .await;
        expect_scim_error(&r, 404, None, &format!("{method} of another workspace's user"));
    }
    // The same userName may exist in the second workspace; the first one's user is unchanged.
    let other = s
        .call_as(
            Some(&key2),
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER_SCHEMA], "userName": "iso@example.com"})),
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.text());
    assert_ne!(other.json()["id"], id.as_str());
    let mine = s.get(&format!("/Users/{id}")).await;
    assert_eq!(mine, created, "untouched by the other workspace's client");
    assert_eq!(
        resources(&s.get("/Users").await).len(),
        1,
        "the first workspace still sees only its own user"
    );
}

/// Unfiltered lists page in the store: walking `/Users` and `/Groups` page by page gives the
/// same resources, in the same order, with the same `totalResults`, as a filter that matches
/// everything (which takes the in-memory path), and `attributes`, `count=0` and a start past
/// the end behave as RFC 7644 §3.4.2.4 says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfiltered_pages_walk_the_same_listing_as_a_filter() {
    let s = Scim::start().await;
    let mut user_ids = Vec::new();
    for i in 0..7 {
        let created = s
            .ok(
                Method::POST,
                "/Users",
                Some(json!({
                    "schemas": [USER_SCHEMA],
                    "userName": format!("page{i}@example.com"),
                    "emails": [{"value": format!("page{i}@example.com"), "primary": true}],
                    "active": true,
                })),
                201,
            )
            .await;
        user_ids.push(str_field(&created, "id"));
    }
    let gone = user_ids.remove(3);
    let r = s.call(Method::DELETE, &format!("/Users/{gone}"), None).await;
    assert_eq!(r.status, 204, "{}", r.text());
    for (i, members) in [&user_ids[..2], &user_ids[..], &user_ids[..0]].iter().enumerate() {
        let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
        s.ok(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP_SCHEMA], "displayName": format!("team {i}"), "members": members})),
            201,
        )
        .await;
    }

    for (collection, everything) in [("Users", "userName pr"), ("Groups", "displayName pr")] {
        let reference = s.filter(collection, everything).await;
        let expected = resources(&reference);
        let mut walked = Vec::new();
        let mut start = 1;
        loop {
            let page = s.get(&format!("/{collection}?startIndex={start}&count=2")).await;
            assert_eq!(
                page["totalResults"], reference["totalResults"],
                "{collection} {start}"
            );
            assert_eq!(page["startIndex"], start, "{collection}");
            let got = resources(&page);
            assert_eq!(page["itemsPerPage"], got.len(), "{collection}");
            if got.is_empty() {
                break;
            }
            walked.extend(got);
            start += 2;
        }
        assert_eq!(walked, expected, "{collection}: pages = the filtered listing");
        assert_eq!(walked.len(), if collection == "Users" { 6 } else { 3 });

        let counted = s.get(&format!("/{collection}?count=0")).await;
        assert_eq!(counted["totalResults"], reference["totalResults"]);
        assert!(resources(&counted).is_empty(), "count=0 answers the total only");
    }
    // The deleted user is in no page; projections apply to paged resources.
    let names = s.get("/Users?attributes=userName&count=100").await;
    let names = resources(&names);
    assert!(names
        .iter()
        .all(|u| u.get("emails").is_none() && u["userName"].is_string()));
    assert!(!names.iter().any(|u| u["id"] == gone.as_str()));
    let team = s.get("/Groups?startIndex=2&count=1").await;
    assert_eq!(resources(&team)[0]["displayName"], "team 1");
    assert_eq!(
        member_ids(&resources(&team)[0]).len(),
        6,
        "members of the page's group"
    );
}
