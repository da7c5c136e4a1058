//! Runs an axum router on its own thread and runtime, so a server keeps answering whatever the
//! calling test does (block on a child process, run a sync test, use another runtime).

use std::net::SocketAddr;
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use axum::Router;
use tokio::sync::oneshot;

/// A server listening on 127.0.0.1 with a free port; dropping it shuts the server down.
pub(crate) struct BackgroundServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundServer {
    pub(crate) fn spawn(name: &str, app: Router) -> Result<Self> {
        // Bind before spawning so the port is known and bind errors surface here.
        let std_listener =
            std::net::TcpListener::bind("127.0.0.1:0").with_context(|| format!("binding {name}"))?;
        std_listener
            .set_nonblocking(true)
            .context("making the socket non-blocking")?;
        let addr = std_listener.local_addr().context("reading the bound address")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .with_context(|| format!("building the {name} runtime"))?;
        let (tx, rx) = oneshot::channel::<()>();
        let label = name.to_owned();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => return eprintln!("{label}: cannot adopt listener: {e}"),
                    };
                    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                        let _ = rx.await;
                    });
                    if let Err(e) = serve.await {
                        eprintln!("{label} stopped with an error: {e}");
                    }
                });
            })
            .with_context(|| format!("spawning the {name} thread"))?;
        Ok(Self {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
