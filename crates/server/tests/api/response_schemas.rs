//! Every operation of the OpenAPI document declares the body of its success
//! answer as a schema (a named component, or a list of them), so a client
//! and schemathesis can check what the server says. Answers without a JSON
//! body are exempt: 204, 101 (the WebSocket upgrades), redirects, and files
//! or streams with their own media type.

use ostrog_testkit::{Backend, TestServer};
use reqwest::Method;
use serde_json::Value;

/// A schema that names what it holds: a `$ref`, or an array of `$ref`s.
fn named(schema: &Value) -> bool {
    schema.get("$ref").is_some() || schema.get("items").is_some_and(|items| items.get("$ref").is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_declares_its_answer_body() {
    let s = TestServer::start(Backend::Sqlite).await;
    let doc: Value = s.request(Method::GET, "/api/openapi.json").send().await.unwrap().json().await.unwrap();
    let mut missing = vec![];
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method.to_uppercase().parse::<Method>().is_err() {
                continue;
            }
            let responses = op["responses"].as_object().unwrap();
            let success: Vec<(&String, &Value)> =
                responses.iter().filter(|(status, _)| status.starts_with('2') || *status == "101").collect();
            assert!(!success.is_empty(), "{method} {path} declares no success answer");
            for (status, response) in success {
                if status == "204" || status == "101" {
                    continue;
                }
                let content = response.get("content").and_then(Value::as_object);
                let json = content.and_then(|c| c.get("application/json"));
                match (content, json) {
                    (Some(_), Some(json)) if json.get("schema").is_some_and(named) => checked += 1,
                    // A file or a stream: its media type is the answer.
                    (Some(c), None) if !c.is_empty() => {}
                    _ => missing.push(format!("{} {path} {status}", method.to_uppercase())),
                }
            }
        }
    }
    assert!(missing.is_empty(), "operations without a response body schema:\n{}", missing.join("\n"));
    assert!(checked >= 60, "only {checked} answers checked");
}
