//! What the OpenAPI 3.1 document (`GET /openapi.json`) adds to the
//! routes' own descriptions.
//!
//! The document is generated: each route's `#[utoipa::path]` gives its
//! operation, the wire types ([`super::wire`]) their schemas, and the
//! router (`routes/mod.rs`) the list of routes, so a route cannot be
//! served without being described. What every operation shares is added
//! here, once: the bearer key or JWT (not on [`PUBLIC_PATHS`]), the
//! scopes a JWT needs (`scopes.rs`), and the error answers.

use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};

use axum::http::Method;

use super::auth::PUBLIC_PATHS;
use super::scopes::{self, Needs};
use super::wire::ErrorBody;

/// The parts of the document no route gives.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "AgentOS (agno-server)",
        description = "Agno's AgentOS API, served by agno-server: agents, runs, sessions, and the hooks' and durable jobs' state."
    ),
    components(schemas(ErrorBody))
)]
struct Base;

/// Adds what every operation shares to the routes' document.
pub(super) fn finish(routes: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.merge(routes);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The security key (OS_SECURITY_KEY), or a JWT when the server verifies them",
                ))
                .build(),
        ),
    );
    doc.security = Some(vec![SecurityRequirement::new(
        "bearer",
        Vec::<String>::new(),
    )]);
    for (path, item) in doc.paths.paths.iter_mut() {
        let public = PUBLIC_PATHS.contains(&path.as_str());
        let operations = [
            (Method::GET, &mut item.get),
            (Method::POST, &mut item.post),
            (Method::PUT, &mut item.put),
            (Method::DELETE, &mut item.delete),
            (Method::PATCH, &mut item.patch),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            add_errors(operation, public);
            if !public {
                add_forbidden(operation, &method, path);
            }
            if public {
                // No key is asked for: no 401, and no bearer requirement.
                operation.security = Some(Vec::new());
            }
        }
    }
    doc
}

/// The 403 a JWT without the route's scopes gets, naming them.
fn add_forbidden(operation: &mut Operation, method: &Method, path: &str) {
    let description = match scopes::needs(method, path) {
        Needs::All(needed) => {
            let names: Vec<String> = needed.iter().map(ToString::to_string).collect();
            format!(
                "With JWT: the token lacks the scope(s) {} (or the admin scope)",
                names.join(" and ")
            )
        }
        Needs::Admin => "With JWT: the token lacks the admin scope".to_owned(),
        Needs::AgentListing => "With JWT: the token may read no agent".to_owned(),
        Needs::Token => return,
    };
    operation
        .responses
        .responses
        .entry("403".into())
        .or_insert_with(|| error(&description));
}

/// An error answer, `{"detail": ...}`, described.
fn error(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        "ErrorBody",
                    ))))
                    .build(),
            )
            .build(),
    )
}

/// The error answers every operation can give, `{"detail": ...}`.
fn add_errors(operation: &mut Operation, public: bool) {
    let responses = &mut operation.responses.responses;
    if !public {
        responses
            .entry("401".into())
            .or_insert_with(|| error("Missing or invalid bearer key or token"));
    }
    let has_path_parameter = operation.parameters.iter().flatten().any(
        |p| matches!(p, RefOr::T(p) if p.parameter_in == utoipa::openapi::path::ParameterIn::Path),
    );
    if has_path_parameter {
        responses
            .entry("404".into())
            .or_insert_with(|| error("Not found"));
    }
    responses
        .entry("4XX".into())
        .or_insert_with(|| error("A request this route cannot take (see `detail`)"));
    responses
        .entry("503".into())
        .or_insert_with(|| error("Shutting down, or too many connections or request bytes"));
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_routes_ask_no_key_and_answers_have_schemas() {
        // That every route is described: tests/os_openapi.rs walks the
        // router against this document, both ways.
        let doc = serde_json::to_value(crate::os::openapi_document()).unwrap();
        // Public routes ask for no key: no 401, an empty security list.
        let health = &doc["paths"]["/health"]["get"];
        assert!(health["responses"]["401"].is_null());
        assert_eq!(health["security"], serde_json::json!([]));
        let list = &doc["paths"]["/sessions"]["get"];
        assert!(list["responses"]["401"].is_object());
        assert_eq!(
            list["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/SessionPage"
        );
        assert!(doc["components"]["schemas"]["SessionDetail"].is_object());
        // The run, the jobs and the counters are described field by field.
        let schemas = &doc["components"]["schemas"];
        assert!(schemas["RunOutput"]["properties"]["run_id"].is_object());
        assert!(schemas["Message"]["properties"]["role"].is_object());
        assert!(schemas["JobRecord"]["properties"]["attempt"].is_object());
        assert!(schemas["JobStats"]["properties"]["oldest_queued_age_seconds"].is_object());
        assert!(schemas["DispatcherStats"]["properties"]["spawned"].is_object());
        let run = &doc["paths"]["/agents/{agent_id}/runs/{run_id}"]["get"]["responses"]["200"];
        assert_eq!(
            run["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/RunOutput"
        );
        assert!(doc["paths"]["/sessions"]["delete"].is_object());
    }
}
