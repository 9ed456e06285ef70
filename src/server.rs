//! `tally serve`: the core, the HTTP surfaces, the expiry job, and the demo data of a first embedded start.

use std::time::Duration;

use tokio::net::TcpListener;

use crate::{
    app::{self, App},
    demo, http, jobs,
    store::Dialect,
};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub app: app::Settings,
    pub listen: String,
    /// Log every CashDesk request and response (personal data masked).
    pub log_requests: bool,
    pub expiry_interval: Duration,
}

/// Serves until ctrl-c or SIGTERM, then drains in-flight requests.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = App::start(&settings.app).await?;
    if app.db.dialect == Dialect::Sqlite {
        demo::seed(&app).await?;
    }
    tokio::spawn(jobs::expiry_job(app.clone(), settings.expiry_interval));
    let listener = TcpListener::bind(&settings.listen).await?;
    tracing::info!(address = %listener.local_addr()?, dialect = ?app.db.dialect, "Tally is serving");
    axum::serve(listener, http::router(app, settings.log_requests)).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
