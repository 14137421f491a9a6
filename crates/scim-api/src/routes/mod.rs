//! The whole SCIM route table.

mod bulk;
mod discovery;
mod groups;
mod query;
mod search;
mod users;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::BASE_PATH;
use crate::error::ScimError;

/// Registers the SCIM routes under [`BASE_PATH`].
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE_PATH)
            .service(
                web::resource("/Users")
                    .route(web::get().to(users::list_users))
                    .route(web::post().to(users::create_user))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Users/.search")
                    .route(web::post().to(users::search_users))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Users/{id}")
                    .route(web::get().to(users::get_user))
                    .route(web::put().to(users::replace_user))
                    .route(web::patch().to(users::patch_user))
                    .route(web::delete().to(users::delete_user))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Groups")
                    .route(web::get().to(groups::list_groups))
                    .route(web::post().to(groups::create_group))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Groups/.search")
                    .route(web::post().to(groups::search_groups))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Groups/{id}")
                    .route(web::get().to(groups::get_group))
                    .route(web::put().to(groups::replace_group))
                    .route(web::patch().to(groups::patch_group))
                    .route(web::delete().to(groups::delete_group))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/ServiceProviderConfig")
                    .route(web::get().to(discovery::service_provider_config))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/ResourceTypes")
                    .route(web::get().to(discovery::resource_types))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/ResourceTypes/{name}")
                    .route(web::get().to(discovery::resource_type))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Schemas")
                    .route(web::get().to(discovery::schemas))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/Schemas/{urn}")
                    .route(web::get().to(discovery::schema))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(web::resource("/Me").to(not_implemented))
            .service(
                web::resource("/Bulk")
                    .route(web::post().to(bulk::bulk))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/.search")
                    .route(web::post().to(search::search_all))
                    .default_service(web::to(method_not_allowed)),
            )
            .default_service(web::to(not_found)),
    );
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ScimError> {
    Err(ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        format!("{} is not supported on {}", req.method(), req.path()),
    ))
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ScimError> {
    Err(ScimError::not_found(format!(
        "there is no SCIM endpoint at {}",
        req.path()
    )))
}

async fn not_implemented(req: HttpRequest) -> Result<HttpResponse, ScimError> {
    Err(ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        format!(
            "{} is not supported by this service provider (see /ServiceProviderConfig)",
            req.path()
        ),
    ))
}
