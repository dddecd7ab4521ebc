//! Contract intelligence over HTTP: upload, extraction job, review corrections, confirm into the
//! portfolio, re-extract, download, and the documents we refuse.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{each_backend, error_code, TestApp};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ai/tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A multipart/form-data body built by hand: `file` plus optional text fields.
fn multipart(file_name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "cscx-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    t: &TestApp,
    file_name: &str,
    bytes: &[u8],
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let (content_type, body) = multipart(file_name, bytes, fields);
    let resp = t
        .client
        .post(format!("{}/api/v1/contracts", t.base))
        .bearer_auth(&t.admin)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Money comes back as an exact JSON number; compare its value.
fn num(v: &Value) -> f64 {
    v.to_string().parse().unwrap_or(f64::NAN)
}

async fn contract_count(t: &TestApp) -> usize {
    let (_, v) = t.get("/api/v1/contracts?limit=200").await;
    v["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn upload_extract_review_and_confirm() {
    for t in each_backend().await {
        // An existing customer with a renewal date a person set: confirming must not overwrite it.
        let customer = t
            .customer(json!({"name": "Contoso Health Systems, Inc", "renewal_date": "2030-01-01"}))
            .await;
        let cid = customer["id"].as_str().unwrap();
        let (s, v) = t
            .post(
                &format!("/api/v1/customers/{cid}/stakeholders"),
                json!({"name": "Helen Park", "role": "COO (entered by CSM)"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");

        let (s, c) = upload(
            &t,
            "msa.docx",
            &fixture("msa-with-order-schedule.docx"),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        assert_eq!(c["status"], "parsing");
        assert_eq!(c["parsed_data"]["document"]["kind"], "docx");
        assert!(c["raw_text"]
            .as_str()
            .unwrap()
            .contains("MASTER SERVICES AGREEMENT"));
        let id = c["id"].as_str().unwrap().to_string();

        t.app.drain_jobs(1).await.unwrap();
        let (_, c) = t.get(&format!("/api/v1/contracts/{id}")).await;
        assert_eq!(c["status"], "parsed", "{c}");
        assert_eq!(c["company_name"], "Contoso Health Systems, Inc.");
        assert_eq!(num(&c["arr"]), 174000.0);
        assert_eq!(c["start_date"], "2025-02-01");
        assert_eq!(c["end_date"], "2027-02-01");
        assert!(c["contract_term"]
            .as_str()
            .unwrap()
            .contains("90 days notice"));
        assert_eq!(c["parsed_data"]["engine"], "builtin-1");
        let evidence = &c["parsed_data"]["extraction"]["governing_law"]["evidence"][0];
        let raw: Vec<char> = c["raw_text"].as_str().unwrap().chars().collect();
        let quoted: String = raw[evidence["start"].as_u64().unwrap() as usize
            ..evidence["end"].as_u64().unwrap() as usize]
            .iter()
            .collect();
        assert_eq!(quoted, evidence["text"].as_str().unwrap());
        let proposals = &c["parsed_data"]["proposals"];
        assert_eq!(proposals["customer"]["action"], "link", "{proposals}");
        assert_eq!(proposals["customer"]["customer_id"], cid);
        assert_eq!(proposals["entitlements"].as_array().unwrap().len(), 3);
        let helen = proposals["stakeholders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "Helen Park")
            .unwrap();
        assert_eq!(helen["action"], "update");

        // Review: a correction is applied and recorded with who and when.
        let (s, c) = t
            .patch(
                &format!("/api/v1/contracts/{id}"),
                json!({"arr": "180000.00"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{c}");
        let corrections = c["parsed_data"]["corrections"].as_array().unwrap();
        assert_eq!(corrections.len(), 1);
        assert_eq!(corrections[0]["field"], "arr");
        assert_eq!(corrections[0]["to"], "180000.00");
        assert!(corrections[0]["by"].is_string());

        // A viewer cannot confirm.
        let viewer = t.token(cscx_domain::Role::Viewer).await;
        let (s, _) = t
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/contracts/{id}/confirm"),
                Some(&viewer),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        let (s, report) = t
            .post(&format!("/api/v1/contracts/{id}/confirm"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{report}");
        assert_eq!(report["customer_created"], false);
        assert_eq!(report["entitlements_created"], 3);
        assert_eq!(report["customer_fields_updated"], json!(["arr"]));
        assert_eq!(report["customer_fields_kept"]["renewal_date"], "2030-01-01");
        assert_eq!(report["contract"]["status"], "active");

        let (_, cu) = t.get(&format!("/api/v1/customers/{cid}")).await;
        assert_eq!(
            num(&cu["arr"]),
            180000.0,
            "the corrected value is what is applied"
        );
        assert_eq!(
            cu["renewal_date"], "2030-01-01",
            "confirmed data is not overwritten"
        );
        let (_, people) = t
            .get(&format!("/api/v1/customers/{cid}/stakeholders"))
            .await;
        let people = people["data"].as_array().unwrap();
        let helen = people.iter().find(|p| p["name"] == "Helen Park").unwrap();
        assert_eq!(
            helen["role"], "COO (entered by CSM)",
            "a person's entry is kept"
        );
        assert_eq!(
            helen["email"], "helen.park@contosohealth.org",
            "missing fields are filled"
        );
        assert!(people.iter().any(|p| p["name"] == "Marcus Lee"));
        let (_, ents) = t.get(&format!("/api/v1/contracts/{id}/entitlements")).await;
        let ents = ents["data"].as_array().unwrap();
        let seats = ents
            .iter()
            .find(|e| e["name"] == "Care Analytics Enterprise")
            .unwrap();
        assert_eq!(seats["quantity"], 250);
        assert_eq!(seats["unit"], "seats");
        assert_eq!(num(&seats["price"]), 600.0);

        // Confirming twice is refused; so is re-extracting a confirmed contract.
        let (s, v) = t
            .post(&format!("/api/v1/contracts/{id}/confirm"), json!({}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        let (s, _) = t
            .post(&format!("/api/v1/contracts/{id}/reextract"), json!({}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT);

        let (_, acc) = t.get("/api/v1/contracts/accuracy").await;
        assert_eq!(acc["reviewed_contracts"], 1);
        let arr = acc["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == "arr")
            .unwrap();
        assert_eq!(arr["corrected"], 1);

        // The original file comes back byte for byte, as an attachment.
        let resp = t
            .client
            .get(format!("{}/api/v1/contracts/{id}/file", t.base))
            .bearer_auth(&t.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert_eq!(
            resp.bytes().await.unwrap().as_ref(),
            fixture("msa-with-order-schedule.docx")
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn a_new_customer_is_created_on_confirm_and_reextract_reruns() {
    for t in each_backend().await {
        let (s, c) = upload(&t, "amendment.pdf", &fixture("renewal-amendment.pdf"), &[]).await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let id = c["id"].as_str().unwrap().to_string();
        t.app.drain_jobs(1).await.unwrap();
        let (_, c) = t.get(&format!("/api/v1/contracts/{id}")).await;
        assert_eq!(
            c["parsed_data"]["proposals"]["customer"]["action"],
            "create"
        );

        let (s, c) = t
            .post(&format!("/api/v1/contracts/{id}/reextract"), json!({}))
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{c}");
        assert_eq!(c["status"], "parsing");
        t.app.drain_jobs(1).await.unwrap();

        let (s, report) = t
            .post(&format!("/api/v1/contracts/{id}/confirm"), json!(null))
            .await;
        assert_eq!(s, StatusCode::OK, "{report}");
        assert_eq!(report["customer_created"], true);
        let cid = report["customer_id"].as_str().unwrap();
        let (_, cu) = t.get(&format!("/api/v1/customers/{cid}")).await;
        assert_eq!(cu["name"], "Fabrikam Retail Group Ltd.");
        assert_eq!(num(&cu["arr"]), 84000.0);
        assert_eq!(cu["renewal_date"], "2026-10-31");
        t.finish().await;
    }
}

#[tokio::test]
async fn unreadable_documents_are_refused_and_nothing_is_stored() {
    for t in each_backend().await {
        let before = contract_count(&t).await;
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let (s, v) = upload(&t, "scan.png", png, &[]).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(error_code(&v), "unsupported_document");
        assert!(v["error"]["message"].as_str().unwrap().contains("OCR"));

        let (s, v) = upload(
            &t,
            "broken.pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog",
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(error_code(&v), "malformed_document");

        let (s, v) = upload(&t, "empty.txt", b"", &[]).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

        let (s, v) = upload(&t, "a.txt", b"Order form", &[("customer_id", "not-a-uuid")]).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(error_code(&v), "validation_failed");

        let big = vec![b'a'; 26 * 1024 * 1024 + 10];
        let (s, _) = upload(&t, "big.txt", &big, &[]).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);

        assert_eq!(contract_count(&t).await, before, "nothing was stored");
        t.finish().await;
    }
}
