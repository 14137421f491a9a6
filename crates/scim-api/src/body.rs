//! The request-body extractor: SCIM or plain JSON, size-limited, parsed into a JSON value.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use serde_json::Value;

use crate::ScimState;
use crate::error::{ScimError, ScimType};

/// A parsed JSON request body.
#[derive(Debug)]
pub struct ScimBody(pub Value);

fn too_large(limit: usize) -> ScimError {
    ScimError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        None,
        format!("the request body is larger than the {limit} bytes this service accepts"),
    )
}

impl FromRequest for ScimBody {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<ScimState>>()
            .map_or(1 << 20, |s| s.max_body_bytes);
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        // Okta's own captures send application/scim+json; its test suite sends
        // application/json; a missing type is read as JSON too.
        let type_ok = match content_type.as_deref() {
            None | Some("") => true,
            Some(t) => t == "application/scim+json" || t == "application/json",
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let bytes = web::Bytes::from_request(req, payload);
        let content_type = content_type.unwrap_or_default();
        Box::pin(async move {
            if declared.is_some_and(|n| n > limit) {
                return Err(too_large(limit));
            }
            if !type_ok {
                return Err(ScimError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    None,
                    format!(
                        "Content-Type '{content_type}' is not accepted: send application/scim+json or application/json"
                    ),
                ));
            }
            let bytes = bytes.await.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large(limit)
                } else {
                    ScimError::bad_request(ScimType::InvalidSyntax, "the request body could not be read")
                }
            })?;
            if bytes.len() > limit {
                return Err(too_large(limit));
            }
            let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
                ScimError::bad_request(
                    ScimType::InvalidSyntax,
                    format!("the request body is not valid JSON: {e}"),
                )
            })?;
            Ok(Self(value))
        })
    }
}
