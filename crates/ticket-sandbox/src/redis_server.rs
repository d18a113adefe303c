//! [`RedisServer`]: a real `redis-server` process on a free loopback port, for the tests and
//! benchmarks that need Redis (the Feishu token store, the shared rate budget). The sandbox
//! emulates the helpdesks; Redis is never emulated: the real server is started and stopped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `redis-server` on a loopback port, killed when dropped. Needs `redis-server` (and, for
/// [`cli`](Self::cli), `redis-cli`) on the `PATH`.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    url: String,
    port: u16,
    args: Vec<String>,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port and waits until it listens.
    /// `data_dir`: an append-only file synced on every write in that directory, so that a
    /// SIGKILLed server comes back with its data; `None`: no persistence (a restarted server
    /// comes back empty). `password`: required from clients.
    ///
    /// # Errors
    /// Why the server could not start (not installed, exited at once), as text.
    pub fn start(data_dir: Option<&Path>, password: Option<&str>) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free loopback port: {e}"))?
            .port();
        let mut args: Vec<String> = ["--port", &port.to_string(), "--bind", "127.0.0.1"]
            .map(str::to_owned)
            .to_vec();
        match data_dir {
            Some(dir) => {
                let dir = dir.to_str().ok_or("the data directory is not UTF-8")?;
                args.extend(
                    [
                        "--appendonly",
                        "yes",
                        "--appendfsync",
                        "always",
                        "--save",
                        "",
                        "--dir",
                        dir,
                    ]
                    .map(str::to_owned),
                );
            }
            None => args.extend(["--save", "", "--appendonly", "no"].map(str::to_owned)),
        }
        if let Some(password) = password {
            args.extend(["--requirepass".to_owned(), password.to_owned()]);
        }
        let url = match password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{port}/"),
            None => format!("redis://127.0.0.1:{port}/"),
        };
        let mut server = Self {
            child: None,
            url,
            port,
            args,
        };
        server.spawn()?;
        Ok(server)
    }

    /// `redis://[:password@]127.0.0.1:PORT/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port, kept across [`restart`](Self::restart).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// SIGKILL, as a crash would (a persistent server keeps what it had written).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same settings; waits until it
    /// listens.
    ///
    /// # Errors
    /// Why it did not come back (the port taken meanwhile, the server exited).
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        self.spawn().map_err(|why| {
            format!(
                "redis-server did not come back on port {}: {why}",
                self.port
            )
        })
    }

    /// Runs `redis-cli` against this server (as in `redis-cli SET key value`); its output,
    /// trimmed.
    ///
    /// # Errors
    /// When `redis-cli` cannot run or fails.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        let mut command = Command::new("redis-cli");
        command.args(["-p", &self.port.to_string()]);
        if let Some(password) = self.password() {
            command.env("REDISCLI_AUTH", password);
        }
        let out = command
            .args(args)
            .output()
            .map_err(|e| format!("redis-cli: {e}"))?;
        if !out.status.success() {
            return Err(format!("redis-cli {args:?}: {out:?}"));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn password(&self) -> Option<&str> {
        let i = self.args.iter().position(|a| a == "--requirepass")?;
        self.args.get(i + 1).map(String::as_str)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let child = Command::new("redis-server")
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        self.child = Some(child);
        self.wait_listening()
    }

    /// Waits until the server accepts connections (or exits, e.g. a port taken meanwhile).
    fn wait_listening(&mut self) -> Result<(), String> {
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!("redis-server exited: {status}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
