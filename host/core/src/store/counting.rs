//! Counting the HTTP requests an S3 store makes, so that claims such as "status lists the
//! bucket in a few requests" are measured rather than believed. The count is logged when the
//! store closes (`RUST_LOG=info`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use object_store::ClientOptions;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse, HttpService, ReqwestConnector,
};

/// object_store's usual HTTP client, wrapped to count every request it sends (retries too).
#[derive(Debug, Default, Clone)]
pub(super) struct CountingConnector {
    pub(super) requests: Arc<AtomicU64>,
}

impl HttpConnector for CountingConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(Counting { inner, requests: self.requests.clone() }))
    }
}

#[derive(Debug)]
struct Counting {
    inner: HttpClient,
    requests: Arc<AtomicU64>,
}

#[async_trait::async_trait]
impl HttpService for Counting {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.execute(request).await
    }
}
