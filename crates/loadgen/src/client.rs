//! The HTTP side: a keep-alive HTTP/1.1 client (hyper) that posts agent
//! requests the way `lxmon-agent` does.

use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lxmon_proto::compress::{DICT_HEADER, DICT_REPORT_PREFIX, DICT_V1};

use crate::wire::Encoded;

/// The agent API paths the load generator drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Register,
    Metrics,
    Batch,
}

impl Endpoint {
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Register => "/api/agent/register",
            Endpoint::Metrics => "/api/agent/metrics",
            Endpoint::Batch => "/api/agent/metrics/batch",
        }
    }
}

/// What came back: a status, or a transport failure named for the summary.
#[derive(Debug, Clone)]
pub enum Outcome {
    Status(StatusCode, Bytes),
    Failed(&'static str),
}

/// One `Authorization` header per agent, built once.
pub fn auth_header(key: &str) -> anyhow::Result<HeaderValue> {
    HeaderValue::from_str(&format!("{} {key}", lxmon_proto::AUTH_SCHEME))
        .context("agent key is not a valid header value")
}

#[derive(Clone)]
pub struct Client {
    http: HyperClient<HttpConnector, Full<Bytes>>,
    /// `http://host:port`, for [`Client::request`].
    base: String,
    uris: [Uri; 3],
    timeout: Duration,
}

impl Client {
    /// `server` is `http://host:port` (or just `host:port`).
    pub fn new(server: &str, timeout: Duration) -> anyhow::Result<Client> {
        let base = server.trim_end_matches('/');
        let base = if base.contains("://") {
            base.to_owned()
        } else {
            format!("http://{base}")
        };
        anyhow::ensure!(
            base.starts_with("http://"),
            "only http:// servers are supported, got {server:?}"
        );
        let uri = |e: Endpoint| -> anyhow::Result<Uri> {
            format!("{base}{}", e.path())
                .parse()
                .with_context(|| format!("bad server URL {server:?}"))
        };
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_keepalive(Some(Duration::from_secs(60)));
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(300))
            .pool_max_idle_per_host(usize::MAX)
            .build(connector);
        Ok(Client {
            http,
            base: base.clone(),
            uris: [
                uri(Endpoint::Register)?,
                uri(Endpoint::Metrics)?,
                uri(Endpoint::Batch)?,
            ],
            timeout,
        })
    }

    /// Posts `body` to `endpoint`. Register bodies are plain JSON; report
    /// and batch bodies are zstd with the protocol dictionary.
    pub async fn post(&self, endpoint: Endpoint, auth: &HeaderValue, body: Bytes) -> Outcome {
        self.send(endpoint, auth, body, None).await
    }

    /// Posts an encoded report or batch with the dictionary it was
    /// compressed with (the protocol's, or the agent's base report).
    pub async fn post_encoded(
        &self,
        endpoint: Endpoint,
        auth: &HeaderValue,
        encoded: &Encoded,
    ) -> Outcome {
        self.send(endpoint, auth, encoded.body.clone(), encoded.base_seq)
            .await
    }

    async fn send(
        &self,
        endpoint: Endpoint,
        auth: &HeaderValue,
        body: Bytes,
        base_seq: Option<u64>,
    ) -> Outcome {
        let uri = self.uris[endpoint as usize].clone();
        let mut req = Request::post(uri).header(AUTHORIZATION, auth.clone());
        let dict = match base_seq {
            Some(seq) => format!("{DICT_REPORT_PREFIX}{seq}"),
            None => DICT_V1.to_owned(),
        };
        req = match endpoint {
            Endpoint::Register => req.header(CONTENT_TYPE, "application/json"),
            Endpoint::Metrics => req
                .header(CONTENT_TYPE, "application/json")
                .header(CONTENT_ENCODING, "zstd")
                .header(DICT_HEADER, dict),
            Endpoint::Batch => req
                .header(CONTENT_TYPE, "application/x-ndjson")
                .header(CONTENT_ENCODING, "zstd")
                .header(DICT_HEADER, dict),
        };
        match req.body(Full::new(body)) {
            Ok(req) => self.exchange(req).await,
            Err(_) => Outcome::Failed("bad_request"),
        }
    }

    /// Any other API call: `method` to `path_and_query` (e.g.
    /// `/api/agent/commands?wait=30`) with `auth` if given (an agent key's
    /// or a session's header), and a JSON body if given.
    pub async fn request(
        &self,
        method: hyper::Method,
        path_and_query: &str,
        auth: Option<&HeaderValue>,
        json: Option<Bytes>,
    ) -> Outcome {
        let Ok(uri) = format!("{}{path_and_query}", self.base).parse::<Uri>() else {
            return Outcome::Failed("bad_request");
        };
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(auth) = auth {
            req = req.header(AUTHORIZATION, auth.clone());
        }
        if json.is_some() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        match req.body(Full::new(json.unwrap_or_default())) {
            Ok(req) => self.exchange(req).await,
            Err(_) => Outcome::Failed("bad_request"),
        }
    }

    async fn exchange(&self, req: Request<Full<Bytes>>) -> Outcome {
        let exchange = async {
            let resp = self
                .http
                .request(req)
                .await
                .map_err(|e| if e.is_connect() { "connect" } else { "io" })?;
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|_| "io")?
                .to_bytes();
            Ok::<_, &'static str>((status, body))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok((status, body))) => Outcome::Status(status, body),
            Ok(Err(kind)) => Outcome::Failed(kind),
            Err(_) => Outcome::Failed("timeout"),
        }
    }
}
