//! The dashboard's API (docs/dashboard.md) against a real `steward serve --demo`: every figure is
//! cross-checked against the OpenAI-compatible usage rows of the same window, sorting and
//! filtering of the ranking, exports equal to the API, bad input answered by name, and the demo's
//! automatic sign-in (and its absence outside demo mode).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::steward_bin;
use serde_json::Value;
use steward_test_support::steward::StewardServer;

struct Demo {
    server: StewardServer,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
    cookie: String,
    ws: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client")
}

impl Demo {
    async fn start(args: &[&str]) -> (StewardServer, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("data dir");
        let server = StewardServer::spawn(&steward_bin(), dir.path(), args, &[])
            .await
            .expect("steward serve starts");
        (server, dir)
    }

    /// A demo server and the session its root page hands out.
    async fn signed_in() -> Demo {
        let (server, dir) = Demo::start(&["--demo"]).await;
        let http = client();
        let root = http.get(server.base_url() + "/").send().await.expect("GET /");
        assert_eq!(root.status(), 200);
        let set_cookie = root
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .expect("demo mode signs the browser in")
            .to_owned();
        let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
        let csp = root.headers()["content-security-policy"].to_str().expect("csp");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        let html = root.text().await.expect("page");
        assert!(html.contains("/ui/app.js"), "the page loads the bundle: {html}");
        let mut demo = Demo {
            server,
            _dir: dir,
            http,
            cookie,
            ws: String::new(),
        };
        let me = demo.get_ok("/v1/me").await;
        assert_eq!(me["kind"], "local_admin");
        assert_eq!(me["sign_in_method"], "demo");
        demo.ws = me["workspace_id"].as_str().expect("workspace").to_owned();
        demo
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(self.server.base_url() + path)
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("request");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    fn ws_path(&self, tail: &str) -> String {
        format!("/v1/workspaces/{}/{tail}", self.ws)
    }

    fn usage_path(&self, query: &str) -> String {
        format!("/v1/analytics/codex/workspaces/{}/usage?{query}", self.ws)
    }

    /// Every per-user usage row of a window (all pages).
    async fn per_user_rows(&self, query: &str) -> Vec<Value> {
        let mut rows = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let q = match &page {
                Some(p) => format!("{query}&limit=5000&page={p}"),
                None => format!("{query}&limit=5000"),
            };
            let body = self.get_ok(&self.usage_path(&q)).await;
            rows.extend(body["data"].as_array().expect("rows").iter().cloned());
            match body["next_page"].as_str() {
                Some(next) => page = Some(next.to_owned()),
                None => return rows,
            }
        }
    }
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * (1.0 + a.abs().max(b.abs()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_figures_agree_with_the_usage_rows() {
    let demo = Demo::signed_in().await;
    let rows = demo.per_user_rows("group_by=day").await;
    assert!(rows.len() > 100, "the demo has usage: {} rows", rows.len());

    // Active users per day and client = distinct users in the per-user rows.
    let mut expected: BTreeMap<(i64, String), BTreeSet<String>> = BTreeMap::new();
    for r in &rows {
        let (day, user) = (
            int(&r["start_time"]),
            r["user_id"].as_str().expect("user").to_owned(),
        );
        expected
            .entry((day, "all".into()))
            .or_default()
            .insert(user.clone());
        for c in r["clients"].as_array().expect("clients") {
            let client = c["client_id"].as_str().expect("client").to_owned();
            expected.entry((day, client)).or_default().insert(user.clone());
        }
    }
    let active = demo
        .get_ok(&demo.ws_path("analytics/active_users?group_by=day"))
        .await;
    let mut got: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for b in active["data"].as_array().expect("buckets") {
        let day = int(&b["start_time"]);
        assert_eq!(int(&b["end_time"]) - day, 86_400);
        got.insert((day, "all".into()), int(&b["active_users"]));
        for c in b["clients"].as_array().expect("clients") {
            got.insert(
                (day, c["client_id"].as_str().expect("id").into()),
                int(&c["active_users"]),
            );
        }
    }
    let expected: BTreeMap<(i64, String), i64> = expected
        .into_iter()
        .map(|(k, users)| (k, users.len() as i64))
        .collect();
    assert_eq!(got, expected, "active users per day and surface");
    let everyone: BTreeSet<&str> = rows
        .iter()
        .map(|r| r["user_id"].as_str().expect("user"))
        .collect();
    assert_eq!(
        int(&active["total_active_users"]) as usize,
        everyone.len(),
        "distinct over the window"
    );

    // The ranking's figures are the sums of each person's rows.
    let mut sums: BTreeMap<String, (f64, i64, i64, BTreeSet<i64>)> = BTreeMap::new();
    for r in &rows {
        let e = sums
            .entry(r["user_id"].as_str().expect("user").to_owned())
            .or_default();
        e.0 += r["totals"]["credits"].as_f64().expect("credits");
        e.1 += int(&r["totals"]["turns"]);
        e.2 += int(&r["totals"]["text_total_tokens"]);
        e.3.insert(int(&r["start_time"]));
    }
    let ranking = demo.get_ok(&demo.ws_path("analytics/users?limit=30000")).await;
    let listed = ranking["data"].as_array().expect("rows");
    assert_eq!(
        int(&ranking["total"]) as usize,
        sums.len(),
        "everyone with usage, once"
    );
    assert_eq!(listed.len(), sums.len());
    for row in listed {
        let (credits, turns, tokens, days) = &sums[row["user_id"].as_str().expect("user")];
        assert!(
            close(row["credits"].as_f64().expect("credits"), *credits),
            "{row}"
        );
        assert_eq!(
            (int(&row["turns"]), int(&row["text_tokens"])),
            (*turns, *tokens),
            "{row}"
        );
        assert_eq!(int(&row["active_days"]) as usize, days.len(), "{row}");
        assert!(int(&row["threads"]) > 0, "{row}");
        assert!(
            row["email"]
                .as_str()
                .is_some_and(|e| e.ends_with("@demo.example")),
            "{row}"
        );
    }

    // One person's rows through the `user_id` extension = that person's rows, unfiltered.
    let top = listed[0]["user_id"].as_str().expect("top user").to_owned();
    let theirs: Vec<&Value> = rows.iter().filter(|r| r["user_id"] == top.as_str()).collect();
    let filtered = demo.per_user_rows(&format!("group_by=day&user_id={top}")).await;
    assert_eq!(filtered.len(), theirs.len());
    for (a, b) in filtered.iter().zip(&theirs) {
        assert_eq!(&a, b, "the filtered row equals the unfiltered one");
    }
    // Paged one row at a time, the same rows come back.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let body = demo
            .get_ok(&demo.usage_path(&format!("group_by=day&user_id={top}&limit=7{cursor}")))
            .await;
        paged.extend(body["data"].as_array().expect("rows").iter().cloned());
        match body["next_page"].as_str() {
            Some(p) => cursor = format!("&page={p}"),
            None => break,
        }
    }
    assert_eq!(paged, filtered);
    let summary = demo
        .get_ok(&demo.ws_path(&format!("analytics/users/{top}")))
        .await;
    assert_eq!(summary["user_id"], top.as_str());
    assert!(close(
        summary["credits"].as_f64().expect("c"),
        listed[0]["credits"].as_f64().expect("c")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranking_sorts_filters_and_pages() {
    let demo = Demo::signed_in().await;
    let all = demo.get_ok(&demo.ws_path("analytics/users?limit=30000")).await;
    let total = int(&all["total"]);
    for (sort, field) in [
        ("credits", "credits"),
        ("threads", "threads"),
        ("turns", "turns"),
        ("text_tokens", "text_tokens"),
        ("streak", "current_streak"),
    ] {
        for order in ["desc", "asc"] {
            let body = demo
                .get_ok(&demo.ws_path(&format!("analytics/users?limit=30000&sort={sort}&order={order}")))
                .await;
            let values: Vec<f64> = body["data"]
                .as_array()
                .expect("rows")
                .iter()
                .map(|r| r[field].as_f64().expect("number"))
                .collect();
            assert_eq!(values.len() as i64, total);
            let sorted = values.windows(2).all(|w| match order {
                "desc" => w[0] >= w[1],
                _ => w[0] <= w[1],
            });
            assert!(sorted, "sort={sort} order={order}: {values:?}");
            assert!(values.first() != values.last(), "sort={sort}: the demo varies");
        }
    }
    // Pages partition the ranking.
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let body = demo
            .get_ok(&demo.ws_path(&format!("analytics/users?limit=40&offset={offset}&sort=turns")))
            .await;
        let page = body["data"].as_array().expect("rows").clone();
        assert_eq!(int(&body["total"]), total);
        for (i, r) in page.iter().enumerate() {
            assert_eq!(int(&r["rank"]), offset + i as i64 + 1);
        }
        seen.extend(page.iter().map(|r| r["user_id"].as_str().expect("id").to_owned()));
        offset += 40;
        if !body["has_more"].as_bool().expect("has_more") {
            break;
        }
    }
    assert_eq!(seen.len() as i64, total);
    assert_eq!(
        seen.iter().collect::<BTreeSet<_>>().len() as i64,
        total,
        "no one twice"
    );
    // Search and client filter.
    let someone = all["data"][5]["email"].as_str().expect("email").to_owned();
    let needle = &someone[..someone.find('@').expect("@")];
    let found = demo
        .get_ok(&demo.ws_path(&format!("analytics/users?q={}", needle.to_uppercase())))
        .await;
    let emails: Vec<&str> = found["data"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["email"].as_str().expect("e"))
        .collect();
    assert!(emails.contains(&someone.as_str()), "{needle}: {emails:?}");
    assert!(emails.iter().all(|e| e.contains(needle)), "{emails:?}");
    let cli = demo
        .get_ok(&demo.ws_path("analytics/users?client=CODEX_GITHUB_ACTION&limit=30000"))
        .await;
    assert!(
        int(&cli["total"]) > 0 && int(&cli["total"]) < total,
        "fewer people use the GitHub Action"
    );

    // Bad input is named.
    for (query, status, needle) in [
        ("analytics/users?sort=vibes", 400, "sort must be one of"),
        ("analytics/users?order=up", 400, "order must be asc or desc"),
        ("analytics/users?offset=-1", 400, "offset"),
        (
            "analytics/users?start_time=1790000000&end_time=1780000000",
            400,
            "end_time must be greater than start_time",
        ),
        ("analytics/users/user-nobody", 404, "no user"),
        (
            "analytics/active_users?start_time=0",
            400,
            "start_time must be within the last 90 days",
        ),
        (
            "analytics/export?dataset=everything",
            400,
            "dataset must be one of",
        ),
        (
            "analytics/export?dataset=user_usage&format=xlsx",
            400,
            "format must be csv or json",
        ),
    ] {
        let (got, body) = demo.get(&demo.ws_path(query)).await;
        assert_eq!(got, status, "{query}: {body}");
        assert!(body.contains(needle), "{query}: {body}");
    }
}

fn parse_csv(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(h, v)| ((*h).to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_hold_what_the_api_serves() {
    let demo = Demo::signed_in().await;
    let window = "group_by=week";
    // Workspace usage: each week's `all` row is the workspace row; surfaces are its clients.
    let (status, csv) = demo
        .get(&demo.ws_path(&format!("analytics/export?dataset=workspace_usage&{window}")))
        .await;
    assert_eq!(status, 200, "{csv}");
    let exported = parse_csv(&csv);
    let ws_rows = demo
        .get_ok(&demo.usage_path(&format!("group=workspace&{window}&limit=1000")))
        .await;
    let active = demo
        .get_ok(&demo.ws_path(&format!("analytics/active_users?{window}")))
        .await;
    let mut expected = 0;
    for (row, users) in ws_rows["data"]
        .as_array()
        .expect("rows")
        .iter()
        .zip(active["data"].as_array().expect("a"))
    {
        let start = int(&row["start_time"]).to_string();
        let find = |surface: &str| {
            exported
                .iter()
                .find(|e| e["start_time"] == start && e["surface"] == surface)
                .unwrap_or_else(|| panic!("no {surface} row for {start}"))
        };
        let all = find("all");
        assert_eq!(all["threads"], row["totals"]["threads"].to_string());
        assert_eq!(all["turns"], row["totals"]["turns"].to_string());
        assert_eq!(
            all["text_total_tokens"],
            row["totals"]["text_total_tokens"].to_string()
        );
        assert!(close(
            all["credits"].parse().expect("f"),
            row["totals"]["credits"].as_f64().expect("f")
        ));
        assert_eq!(all["active_users"], users["active_users"].to_string());
        expected += 1;
        for c in row["clients"].as_array().expect("clients") {
            let e = find(c["client_id"].as_str().expect("id"));
            assert_eq!(e["turns"], c["turns"].to_string());
            assert_eq!(e["threads"], c["threads"].to_string());
            expected += 1;
        }
    }
    assert_eq!(exported.len(), expected, "nothing more than the API's rows");

    // The JSON form has the same rows as the CSV.
    let json = demo
        .get_ok(&demo.ws_path(&format!(
            "analytics/export?dataset=workspace_usage&format=json&{window}"
        )))
        .await;
    let json_rows = json["data"].as_array().expect("rows");
    assert_eq!(json_rows.len(), exported.len());
    for (j, c) in json_rows.iter().zip(&exported) {
        assert_eq!(j["turns"].to_string(), c["turns"]);
        assert_eq!(j["surface"].as_str(), Some(c["surface"].as_str()));
    }

    // Usage per user: one `all` row per per-user usage row, with the same figures.
    let (status, csv) = demo
        .get(&demo.ws_path("analytics/export?dataset=user_usage&group_by=day"))
        .await;
    assert_eq!(status, 200);
    let per_user = parse_csv(&csv);
    let rows = demo.per_user_rows("group_by=day").await;
    let alls: Vec<&BTreeMap<String, String>> = per_user.iter().filter(|r| r["surface"] == "all").collect();
    assert_eq!(alls.len(), rows.len());
    for (e, r) in alls.iter().zip(&rows) {
        assert_eq!(e["user_id"], r["user_id"].as_str().expect("id"));
        assert_eq!(e["email"], r["actor"]["email"].as_str().expect("email"));
        assert_eq!(e["turns"], r["totals"]["turns"].to_string());
    }

    // On a person's page the export is that person's rows only.
    let one = rows[0]["user_id"].as_str().expect("id").to_owned();
    let (status, csv) = demo
        .get(&demo.ws_path(&format!(
            "analytics/export?dataset=user_usage&group_by=day&user_id={one}"
        )))
        .await;
    assert_eq!(status, 200);
    let theirs = parse_csv(&csv);
    assert!(
        !theirs.is_empty() && theirs.iter().all(|r| r["user_id"] == one),
        "only {one}'s rows"
    );
    assert_eq!(
        theirs.iter().filter(|r| r["surface"] == "all").count(),
        rows.iter().filter(|r| r["user_id"] == one.as_str()).count()
    );
    // A local admin has no usage of their own.
    let (status, body) = demo.get("/v1/me/usage").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("only people"), "{body}");

    // Code Review: the header alone until Steward collects it.
    let (status, csv) = demo
        .get(&demo.ws_path("analytics/export?dataset=code_review"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 1, "{csv}");
    assert!(csv.starts_with("start_time,end_time,date,prs_reviewed"));

    // The compliance view's status and verification.
    let status = demo.get_ok(&demo.ws_path("compliance/status")).await;
    assert_eq!(status["retention"].as_array().expect("retention").len(), 3);
    let verification = demo.get_ok(&demo.ws_path("compliance/verification")).await;
    assert_eq!(verification["ok"], true, "{verification}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_demo_the_root_page_signs_nobody_in() {
    let (server, _dir) = Demo::start(&[]).await;
    let http = client();
    let root = http.get(server.base_url() + "/").send().await.expect("GET /");
    assert_eq!(root.status(), 200);
    assert!(
        root.headers().get("set-cookie").is_none(),
        "no demo sign-in outside demo mode"
    );
    let me = http.get(server.base_url() + "/v1/me").send().await.expect("me");
    assert_eq!(me.status(), 401);
    // The bundle is served, gzipped on request, and revalidated with its ETag.
    let js = http
        .get(server.base_url() + "/ui/app.js")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("app.js");
    assert_eq!(js.status(), 200);
    assert_eq!(js.headers()["content-encoding"], "gzip");
    let etag = js.headers()["etag"].to_str().expect("etag").to_owned();
    let again = http
        .get(server.base_url() + "/ui/app.js")
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("again");
    assert_eq!(again.status(), 304);
    let missing = http
        .get(server.base_url() + "/ui/nope.js")
        .send()
        .await
        .expect("nope");
    assert_eq!(missing.status(), 404);
    let logs = server.logs();
    assert!(
        logs.contains("steward admin create"),
        "first start says how to sign in: {logs}"
    );
}
