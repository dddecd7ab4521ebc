//! What handlers share: the use-cases, the metrics registry and HTTP settings.

use std::sync::Arc;

use cscx_core::App;

use crate::metrics::Metrics;
use crate::ratelimit::{RateLimiter, RateLimits};

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Mark the session cookie `Secure` (set when served over HTTPS, directly or via a proxy).
    pub cookie_secure: bool,
    /// Largest JSON body accepted, in bytes.
    pub body_limit: usize,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_proxy: bool,
    /// Requests per minute per API token or signed-in user.
    pub rate_limits: RateLimits,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            cookie_secure: false,
            body_limit: 1024 * 1024,
            trust_proxy: false,
            rate_limits: RateLimits::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub metrics: Arc<Metrics>,
    pub config: Arc<HttpConfig>,
    pub limiter: Arc<RateLimiter>,
}

impl AppState {
    pub fn new(app: App, config: HttpConfig) -> AppState {
        AppState {
            app,
            metrics: Default::default(),
            config: Arc::new(config),
            limiter: Default::default(),
        }
    }
}
