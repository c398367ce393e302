//! The dashboard's static files, embedded at build time (see `build.rs`).
//!
//! Hashed files under `assets/` never change, so they are cached for a year;
//! `index.html` is revalidated every time so a new build is picked up. Paths
//! that are not files get `index.html` (client-side routes); `/api/*` never
//! does — it answers JSON, see [`super::system::fallback`].

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

fn find(path: &str) -> Option<&'static [u8]> {
    embedded::ASSETS
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, bytes)| *bytes)
}

pub fn dashboard_built() -> bool {
    find("index.html").is_some()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn file(path: &str, bytes: &'static [u8]) -> Response {
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// Serves a dashboard path: the file, else `index.html`, else a page saying
/// the dashboard was not built.
pub fn serve(uri: &Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if let Some(bytes) = find(path).filter(|_| !path.is_empty()) {
        return file(path, bytes);
    }
    if path.starts_with("assets/") {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    }
    match find("index.html") {
        Some(index) => file("index.html", index),
        None => (
            StatusCode::OK,
            Html(concat!(
                "<!doctype html><meta charset=utf-8><title>lxmon</title>",
                "<h1>lxmon</h1><p>The dashboard is not built into this server binary. ",
                "Build it with <code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code> and rebuild the server ",
                "(<code>bash scripts/run.sh</code> does both).</p>",
                "<p>The API works: <a href=\"/api/openapi.json\">/api/openapi.json</a>, <a href=\"/api/health\">/api/health</a>.</p>"
            )),
        )
            .into_response(),
    }
}
