//! What the OpenAPI document says that the route annotations cannot say once per route:
//!
//! - **Request schemas**: a create or update takes only the writable fields that the use-case
//!   accepts (`CustomerInput` is `Customer` less `id`, timestamps and computed fields), built
//!   from the same field lists the use-cases enforce, so the two cannot drift.
//! - **Formats**: path ids are UUIDs.
//! - **Errors every operation can answer**: 400 (malformed query or body), 401/403 (credentials
//!   and role), 413/415/422 where there is a body, 409/422 from `Idempotency-Key` on POST, 429
//!   (rate limits), 500 and 503 (the database busy), all with `ErrorBody`.

use serde_json::{json, Map, Value};

use cscx_core::portfolio::{
    CONTRACT_FIELDS, CUSTOMER_FIELDS, ENTITLEMENT_FIELDS, STAKEHOLDER_FIELDS,
};

/// Records whose create/update bodies take a subset of their fields.
const INPUTS: &[(&str, &[&str])] = &[
    ("Customer", CUSTOMER_FIELDS),
    ("Contract", CONTRACT_FIELDS),
    ("Stakeholder", STAKEHOLDER_FIELDS),
    ("Entitlement", ENTITLEMENT_FIELDS),
    ("Task", cscx_core::tasks::TASK_FIELDS),
];

const ERROR: &str = "#/components/schemas/ErrorBody";

/// Routes anyone may call.
fn is_public(path: &str) -> bool {
    !path.starts_with("/api/v1/") || path == "/api/v1/auth/login"
}

pub fn refine(mut doc: Value) -> Value {
    let mut inputs = Map::new();
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, fields) in INPUTS {
            if let Some(schema) = schemas.get(*name) {
                inputs.insert(format!("{name}Input"), input_schema(name, schema, fields));
            }
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.extend(inputs);
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            refine_operation(path, method, op);
        }
    }
    doc
}

/// `Customer` as a request: the writable fields only, none required by the schema (each use
/// case says which it needs; a create without them is a 422), no others accepted.
fn input_schema(name: &str, schema: &Value, fields: &[&str]) -> Value {
    let mut out = schema.clone();
    if let Some(props) = out.get_mut("properties").and_then(Value::as_object_mut) {
        props.retain(|k, _| fields.contains(&k.as_str()));
    }
    if let Some(o) = out.as_object_mut() {
        o.remove("required");
        o.insert("additionalProperties".into(), json!(false));
        o.insert(
            "description".into(),
            json!(format!(
                "The writable fields of a {}: on create, fields left out take their defaults; \
                 on update, only the fields given change.",
                name.to_lowercase()
            )),
        );
    }
    out
}

fn refine_operation(path: &str, method: &str, op: &mut Value) {
    // Path ids are UUIDs.
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params {
            if p["in"] == "path"
                && (p["name"] == "id" || p["name"].as_str().is_some_and(|n| n.ends_with("_id")))
            {
                p["schema"] = json!({"type": "string", "format": "uuid"});
            }
        }
    }
    // Request bodies that named a whole record name its input schema instead.
    let mut has_body = false;
    if let Some(content) = op
        .pointer_mut("/requestBody/content")
        .and_then(Value::as_object_mut)
    {
        has_body = true;
        for media in content.values_mut() {
            if let Some(r) = media.pointer_mut("/schema/$ref") {
                let target = r
                    .as_str()
                    .unwrap_or("")
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_string();
                if INPUTS.iter().any(|(n, _)| *n == target) {
                    *r = json!(format!("#/components/schemas/{target}Input"));
                }
            }
        }
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    let mut statuses: Vec<(&str, &str)> = vec![
        ("400", "The query string or body is malformed."),
        ("500", "Something went wrong on our side."),
        ("503", "The database is busy or unreachable; retry shortly."),
    ];
    if !is_public(path) {
        statuses.push(("401", "No valid credentials."));
        statuses.push((
            "403",
            "The caller's role or token scope does not allow this.",
        ));
        statuses.push(("429", "Too many requests; see Retry-After."));
    }
    if has_body {
        statuses.push(("413", "The body is larger than this endpoint accepts."));
        statuses.push((
            "415",
            "The body's content type is not one this endpoint reads.",
        ));
        statuses.push(("422", "A field is invalid; `details` names it."));
    }
    if method == "post" {
        statuses.push((
            "409",
            "A conflict, or a request with this Idempotency-Key is still running.",
        ));
        statuses.push((
            "422",
            "A field is invalid, or this Idempotency-Key was used for another request.",
        ));
    }
    for (status, description) in statuses {
        match responses.get_mut(status) {
            None => {
                responses.insert(
                    status.into(),
                    json!({
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": ERROR}}}
                    }),
                );
            }
            Some(existing) => also_error_body(existing),
        }
    }
}

/// A documented response whose body is something other than `ErrorBody` (an ingestion report
/// on 422, say) may also be an error from the middleware: one of the two.
fn also_error_body(response: &mut Value) {
    let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(media) = content.get_mut("application/json") else {
        return;
    };
    let Some(schema) = media.get_mut("schema") else {
        return;
    };
    let is_error = schema.get("$ref").and_then(Value::as_str) == Some(ERROR)
        || schema
            .get("anyOf")
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().any(|s| s["$ref"] == ERROR));
    if !is_error {
        let original = schema.take();
        *schema = json!({"anyOf": [original, {"$ref": ERROR}]});
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_keep_writable_fields_and_errors_are_added() {
        let doc = json!({
            "paths": {"/api/v1/customers/{id}": {"patch": {
                "parameters": [{"in": "path", "name": "id", "schema": {"type": "string"}}],
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Customer"}}}},
                "responses": {"200": {"description": "ok"},
                              "422": {"description": "x", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}}}}}
            }}},
            "components": {"schemas": {"Customer": {"type": "object",
                "required": ["id", "name"],
                "properties": {"id": {}, "name": {}, "created_at": {}, "arr": {}}}}}
        });
        let out = refine(doc);
        let input = &out["components"]["schemas"]["CustomerInput"];
        assert_eq!(input["properties"].as_object().unwrap().len(), 2, "{input}");
        assert!(input.get("required").is_none());
        assert_eq!(input["additionalProperties"], false);
        let op = &out["paths"]["/api/v1/customers/{id}"]["patch"];
        assert_eq!(op["parameters"][0]["schema"]["format"], "uuid");
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/CustomerInput"
        );
        for status in ["400", "401", "403", "413", "415", "429", "500", "503"] {
            assert_eq!(
                op["responses"][status]["content"]["application/json"]["schema"]["$ref"], ERROR,
                "{status}"
            );
        }
        let s422 = &op["responses"]["422"]["content"]["application/json"]["schema"]["anyOf"];
        assert_eq!(s422.as_array().unwrap().len(), 2, "{op}");
    }
}
