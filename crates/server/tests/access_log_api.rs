//! "Who accessed my data" through the JSON API and the page: a resident lists
//! the openings of their personal data (newest first, filtered by purpose,
//! paged), exports them, and checks an entry's inclusion proof against the
//! signed checkpoint; another resident's entries stay out of reach.

mod common;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::{call, demo_app, log_in, register, CHROME_ON_ANDROID};
use reqwest::Method;
use serde_json::Value;
use shengshi_domain::access::{AccessEntry, Accessor, Purpose};
use shengshi_test_support::{tests_on_both_backends, Backend, TestApp};
use shengshi_tlog::{Checkpoint, Hash, NoteVerifier, SignedNote};
use time::Duration;

/// Opens the account page, which opens the resident's profile (and logs it).
async fn open_account_page(app: &TestApp, sid: &str) {
    let response = app
        .client
        .get(app.url("/account"))
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

async fn entries(app: &TestApp, sid: &str, query: &str) -> (Vec<Value>, Value) {
    let path = format!("/api/v1/me/access-log{query}");
    let (status, page, headers) = call(app, Method::GET, &path, Some(sid), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(headers["cache-control"], "no-store");
    (
        page["entries"].as_array().unwrap().clone(),
        page["next_before"].clone(),
    )
}

fn leaf_indexes(entries: &[Value]) -> Vec<u64> {
    entries
        .iter()
        .map(|e| e["leaf_index"].as_u64().unwrap())
        .collect()
}

async fn get_text(
    app: &TestApp,
    path: &str,
    sid: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let response = app
        .client
        .get(app.url(path))
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn a_resident_sees_their_own_accesses_newest_first(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (mine, theirs) = ("13912345678", "13787654321");
    register(&app, 0, mine).await;
    register(&app, 1, theirs).await;
    let (sid, _) = log_in(&app, mine, CHROME_ON_ANDROID).await;
    let (other_sid, _) = log_in(&app, theirs, CHROME_ON_ANDROID).await;

    let (status, problem, _) = call(&app, Method::GET, "/api/v1/me/access-log", None, None).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (401, Some("urn:shengshi:problem:unauthenticated"))
    );

    open_account_page(&app, &sid).await;
    open_account_page(&app, &other_sid).await;
    app.clock.advance(Duration::seconds(60));
    open_account_page(&app, &sid).await;

    let (list, next) = entries(&app, &sid, "").await;
    assert!(next.is_null(), "one page holds everything: {next}");
    assert_eq!(list.len(), 2, "two visits to the account page: {list:?}");
    let newest = &list[0];
    assert_eq!(newest["purpose"], "own_account");
    assert_eq!(newest["accessor"], "subject");
    assert_eq!(newest["accessor_text"], "您本人", "the default language");
    assert!(newest["department"].is_null() && newest["role"].is_null());
    assert_eq!(
        newest["fields"],
        serde_json::json!(["name", "id_number", "phone"])
    );
    let indexes = leaf_indexes(&list);
    assert!(indexes[0] > indexes[1], "newest first: {indexes:?}");
    assert!(newest["at"].as_str().unwrap() > list[1]["at"].as_str().unwrap());

    // In English, on request.
    let (status, page, _) = call(
        &app,
        Method::GET,
        "/api/v1/me/access-log?lang=en",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["entries"][0]["accessor_text"], "You");
    assert_eq!(
        page["entries"][0]["purpose_text"],
        "You viewed your account"
    );

    // Nobody else's entries are listed, and their proofs are not ours to get.
    let (theirs_list, _) = entries(&app, &other_sid, "").await;
    assert_eq!(theirs_list.len(), 1);
    let their_index = theirs_list[0]["leaf_index"].as_u64().unwrap();
    assert!(!indexes.contains(&their_index));
    for index in [their_index.to_string(), "999999".into(), "x".into()] {
        let path = format!("/api/v1/me/access-log/{index}/proof");
        let (status, problem, headers) = call(&app, Method::GET, &path, Some(&sid), None).await;
        assert_eq!(
            (status, problem["type"].as_str()),
            (404, Some("urn:shengshi:problem:access-entry-not-found")),
            "{problem}"
        );
        assert_eq!(headers["content-type"], "application/problem+json");
    }

    // Paging by leaf index.
    let (first, next) = entries(&app, &sid, "?limit=1").await;
    assert_eq!(leaf_indexes(&first), vec![indexes[0]]);
    assert_eq!(next.as_u64(), Some(indexes[0]));
    let (second, next) = entries(&app, &sid, &format!("?limit=1&before={}", indexes[0])).await;
    assert_eq!(leaf_indexes(&second), vec![indexes[1]]);
    assert!(next.is_null(), "nothing older: {next}");

    // The purpose filter.
    let (own, _) = entries(&app, &sid, "?purpose=own_account").await;
    assert_eq!(leaf_indexes(&own), indexes);
    let (counter, next) = entries(&app, &sid, "?purpose=counter_check").await;
    assert!(counter.is_empty() && next.is_null());
    let (status, problem, _) = call(
        &app,
        Method::GET,
        "/api/v1/me/access-log?purpose=snooping&limit=0&lang=en",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["type"], "urn:shengshi:problem:validation");
    let pointers: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, ["/purpose", "/limit"]);
    app.stop().await;
}

async fn the_log_exports_as_csv_and_json(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345678";
    register(&app, 0, phone).await;
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    for _ in 0..3 {
        open_account_page(&app, &sid).await;
    }
    let (list, _) = entries(&app, &sid, "").await;
    assert_eq!(list.len(), 3);

    let (status, headers, csv) =
        get_text(&app, "/api/v1/me/access-log/export.csv?lang=en", &sid).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains(".csv"),
        "{disposition}"
    );
    let body = csv.strip_prefix('\u{feff}').expect("a BOM for Excel");
    let lines: Vec<&str> = body.trim_end_matches("\r\n").split("\r\n").collect();
    assert_eq!(
        lines[0],
        "leaf_index,at,accessor,accessor_text,department,role,purpose,purpose_text,reference,fields,disclosed_after_embargo"
    );
    assert_eq!(lines.len(), 1 + list.len(), "{csv}");
    let newest = list[0]["leaf_index"].to_string();
    assert!(
        lines[1].starts_with(&format!("{newest},")),
        "newest first: {}",
        lines[1]
    );
    assert!(
        lines[1]
            .contains(",subject,You,,,own_account,You viewed your account,,name id_number phone"),
        "{}",
        lines[1]
    );

    let (status, headers, json) = get_text(&app, "/api/v1/me/access-log/export.json", &sid).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    let export: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(export["entries"].as_array().unwrap().len(), list.len());
    assert_eq!(export["entries"][0]["leaf_index"], list[0]["leaf_index"]);

    let (status, _, _) = call(
        &app,
        Method::GET,
        "/api/v1/me/access-log/export.csv",
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);
    app.stop().await;
}

fn hash(text: &Value) -> Hash {
    let bytes = BASE64.decode(text.as_str().unwrap()).unwrap();
    Hash::try_from(bytes.as_slice()).unwrap()
}

async fn an_entry_proves_against_the_signed_checkpoint(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (mine, theirs) = ("13912345678", "13787654321");
    register(&app, 0, mine).await;
    register(&app, 1, theirs).await;
    let (sid, _) = log_in(&app, mine, CHROME_ON_ANDROID).await;
    let (other_sid, _) = log_in(&app, theirs, CHROME_ON_ANDROID).await;
    // Interleave accesses so the tree has several levels around our entries.
    for _ in 0..3 {
        open_account_page(&app, &sid).await;
        open_account_page(&app, &other_sid).await;
    }
    let (list, _) = entries(&app, &sid, "").await;
    for entry in &list {
        let index = entry["leaf_index"].as_u64().unwrap();
        let path = format!("/api/v1/me/access-log/{index}/proof");
        let (status, proof, headers) = call(&app, Method::GET, &path, Some(&sid), None).await;
        assert_eq!(status, 200, "{proof}");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(proof["leaf_index"].as_u64(), Some(index));

        // The note is signed by the published key, and names the tree.
        let verifier = NoteVerifier::from_vkey(proof["log_key"].as_str().unwrap()).unwrap();
        let note = SignedNote::parse(proof["checkpoint"].as_str().unwrap()).unwrap();
        note.verify(&verifier).unwrap();
        let checkpoint = Checkpoint::parse(&note.body).unwrap();
        let tree_size = proof["tree_size"].as_u64().unwrap();
        assert_eq!(checkpoint.size, tree_size);
        assert!(tree_size > index);

        // The entry bytes are ours and lead, with the path, to the signed root.
        let bytes = BASE64.decode(proof["entry"].as_str().unwrap()).unwrap();
        let decoded = AccessEntry::from_bytes(&bytes).unwrap();
        assert_eq!(decoded.purpose, Purpose::OwnAccount);
        assert_eq!(decoded.accessor, Accessor::Subject);
        let path: Vec<Hash> = proof["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(hash)
            .collect();
        let leaf = shengshi_tlog::leaf_hash(&bytes);
        shengshi_tlog::verify_inclusion(&leaf, index, tree_size, &path, &checkpoint.root).unwrap();
        // A changed entry does not prove.
        let forged = shengshi_tlog::leaf_hash(&[bytes.as_slice(), b" "].concat());
        assert!(shengshi_tlog::verify_inclusion(
            &forged,
            index,
            tree_size,
            &path,
            &checkpoint.root
        )
        .is_err());
    }
    app.stop().await;
}

async fn the_page_lists_accesses_in_both_languages(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345678";
    register(&app, 0, phone).await;
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;

    let response = app.get("/account/access-log").await;
    assert_eq!(
        response.status().as_u16(),
        303,
        "logged out: to the login page"
    );

    let (status, _, account) = get_text(&app, "/account?lang=en", &sid).await;
    assert_eq!(status, 200);
    assert!(
        account.contains("href=\"/account/access-log\""),
        "linked from the account page"
    );
    let (list, _) = entries(&app, &sid, "").await;
    let index = list[0]["leaf_index"].as_u64().unwrap();

    let (status, headers, en) = get_text(&app, "/account/access-log?lang=en", &sid).await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    for text in [
        // One card per row on a phone: the cells carry their column's label.
        "<table class=\"table table-stack\">",
        "<caption>Accesses to your personal data, newest first</caption>",
        "<th scope=\"col\">Who</th>",
        "<th scope=\"row\" data-label=\"",
        "data-label=\"Who\">You</td>",
        ">You viewed your account</td>",
        "name, ID number, mobile number",
        "a hotel scanning the QR code",
        "href=\"/api/v1/me/access-log/export.csv\"",
        "href=\"/api/v1/me/access-log/export.json\"",
        "<select id=\"purpose\" name=\"purpose\">",
    ] {
        assert!(en.contains(text), "missing {text:?} in\n{en}");
    }
    assert!(en.contains(&format!("href=\"/api/v1/me/access-log/{index}/proof\"")));
    assert!(!en.contains(shengshi_i18n::MISSING), "{en}");
    assert!(
        !en.contains("<script") && !en.contains("style="),
        "strict CSP: nothing inline"
    );

    let (status, _, zh) = get_text(&app, "/account/access-log?lang=zh-CN", &sid).await;
    assert_eq!(status, 200);
    for text in [
        "谁查看了我的信息",
        ">您本人</td>",
        ">您查看了自己的账号</td>",
        "姓名、身份证号、手机号",
        "<caption>",
    ] {
        assert!(zh.contains(text), "missing {text:?} in\n{zh}");
    }
    assert!(!zh.contains(shengshi_i18n::MISSING));

    // The filter works without JavaScript: a GET form.
    let (_, _, filtered) = get_text(
        &app,
        "/account/access-log?purpose=counter_check&lang=en",
        &sid,
    )
    .await;
    assert!(filtered.contains("No access with this purpose was found here."));
    assert!(filtered.contains("<option value=\"counter_check\" selected>"));
    let (status, _, bad) =
        get_text(&app, "/account/access-log?purpose=snooping&lang=en", &sid).await;
    assert_eq!(status, 200, "the form shows its error");
    assert!(bad.contains("error-summary") && bad.contains("Choose one of the listed purposes"));
    assert!(bad.contains(">You</td>"), "and the newest accesses");

    // Older pages keep the filter.
    open_account_page(&app, &sid).await;
    let (_, _, paged) = get_text(
        &app,
        "/account/access-log?purpose=own_account&limit=1&lang=en",
        &sid,
    )
    .await;
    // However the template escapes the ampersands.
    let paged = paged.replace("&#38;", "&").replace("&amp;", "&");
    let newest = entries(&app, &sid, "").await.0[0]["leaf_index"]
        .as_u64()
        .unwrap();
    assert!(
        paged.contains(&format!(
            "href=\"/account/access-log?purpose=own_account&before={newest}&limit=1\""
        )),
        "{paged}"
    );
    app.stop().await;
}

tests_on_both_backends!(
    a_resident_sees_their_own_accesses_newest_first,
    the_log_exports_as_csv_and_json,
    an_entry_proves_against_the_signed_checkpoint,
    the_page_lists_accesses_in_both_languages,
);
