//! Untrusted documents are read in a child process of our own binary, under limits the kernel
//! enforces: address space and CPU time (`setrlimit`), no files written, no core dumps, and a
//! wall-clock kill. A parser that overflows its stack, inflates a bomb or spins forever takes
//! down only its child, and the upload gets a 422; the server never notices.
//!
//! The child is the binary's hidden `read-document` subcommand ([`child_main`]). It reads one
//! request from standard input (a JSON header line, then the file's bytes), writes one JSON
//! answer to standard output, and exits. Children are started ahead of need (a small pool of
//! spares, each used once), so a document does not wait for a process to start, and no state
//! or memory carries over from one document to the next.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Condvar, Mutex};

use crate::document::{self, DocumentError, ExtractedText, Limits};

/// How untrusted files are read.
#[derive(Clone)]
pub enum DocumentReader {
    /// On a thread of this process with a time limit and panic isolation. For tests and for
    /// builds without the `cscx` binary; a stack overflow or a memory bomb still hurts here.
    Thread,
    /// In a child process under kernel limits.
    Process(Arc<ProcessReader>),
}

impl DocumentReader {
    /// Reads `bytes` as a document. Blocking: call it from a blocking task.
    pub fn read(
        &self,
        bytes: Vec<u8>,
        file_name: Option<String>,
        limits: Limits,
    ) -> Result<ExtractedText, DocumentError> {
        match self {
            DocumentReader::Thread => document::extract_text_guarded(bytes, file_name, limits),
            DocumentReader::Process(p) => p.read(&bytes, file_name, limits),
        }
    }
}

/// What one child may use.
#[derive(Debug, Clone, Copy)]
pub struct ProcessLimits {
    /// Address space (`RLIMIT_AS`), in bytes.
    pub memory_bytes: u64,
    /// CPU seconds (`RLIMIT_CPU`); the wall-clock limit is the document [`Limits::timeout`].
    pub cpu_secs: u64,
    /// Children reading at once; further documents wait for a free one.
    pub concurrency: usize,
    /// Children kept started and waiting.
    pub spares: usize,
}

impl Default for ProcessLimits {
    fn default() -> Self {
        ProcessLimits {
            memory_bytes: 1024 * 1024 * 1024,
            cpu_secs: 30,
            concurrency: 2,
            spares: 1,
        }
    }
}

/// The header line a child reads before the file's bytes.
#[derive(serde::Serialize, serde::Deserialize)]
struct Request {
    file_name: Option<String>,
    limits: Limits,
}

/// Starts children and hands documents to them.
pub struct ProcessReader {
    program: PathBuf,
    args: Vec<OsString>,
    limits: ProcessLimits,
    spares: Mutex<Vec<Child>>,
    busy: Mutex<usize>,
    freed: Condvar,
}

impl ProcessReader {
    /// `program args…` must start [`child_main`] (for `cscx`: `cscx read-document`).
    pub fn new(program: impl Into<PathBuf>, args: Vec<OsString>, limits: ProcessLimits) -> Self {
        ProcessReader {
            program: program.into(),
            args,
            limits,
            spares: Mutex::new(Vec::new()),
            busy: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// The running binary's own `read-document` subcommand.
    pub fn current_exe(limits: ProcessLimits) -> std::io::Result<Self> {
        Ok(Self::new(
            std::env::current_exe()?,
            vec!["read-document".into()],
            limits,
        ))
    }

    fn spawn(&self) -> std::io::Result<Child> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_clear()
            .env("RUST_BACKTRACE", "0");
        let memory = self.limits.memory_bytes;
        let cpu = self.limits.cpu_secs;
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    set_limit(libc::RLIMIT_AS, memory)?;
                    set_limit(libc::RLIMIT_CPU, cpu)?;
                    set_limit(libc::RLIMIT_FSIZE, 0)?;
                    set_limit(libc::RLIMIT_CORE, 0)?;
                    Ok(())
                });
            }
        }
        #[cfg(not(unix))]
        let _ = (memory, cpu);
        cmd.spawn()
    }

    /// Keeps `spares` children waiting (in the background); called at start-up and after each
    /// document so the next one is ready.
    pub fn refill(self: &Arc<Self>) {
        let me = Arc::clone(self);
        std::thread::spawn(move || loop {
            if me.spares.lock().expect("spares").len() >= me.limits.spares {
                return;
            }
            match me.spawn() {
                Ok(mut child) => {
                    let mut spares = me.spares.lock().expect("spares");
                    if spares.len() >= me.limits.spares {
                        // Another refill got there first.
                        let _ = child.kill();
                        let _ = child.wait();
                        return;
                    }
                    spares.push(child);
                }
                Err(e) => {
                    eprintln!("cscx: could not start a document reader: {e}");
                    return;
                }
            }
        });
    }

    fn take_child(&self) -> std::io::Result<Child> {
        // A spare that died meanwhile (killed by an operator, say) is replaced by a new one.
        while let Some(mut child) = self.spares.lock().expect("spares").pop() {
            if matches!(child.try_wait(), Ok(None)) {
                return Ok(child);
            }
        }
        self.spawn()
    }

    fn read(
        self: &Arc<Self>,
        bytes: &[u8],
        file_name: Option<String>,
        limits: Limits,
    ) -> Result<ExtractedText, DocumentError> {
        if bytes.len() > limits.max_bytes {
            return Err(DocumentError::TooLarge {
                size: bytes.len(),
                limit: limits.max_bytes,
            });
        }
        let _slot = self.acquire();
        let child = self.take_child();
        self.refill();
        let mut child = child.map_err(|e| unavailable(format!("starting the reader: {e}")))?;
        let result = run_child(&mut child, bytes, file_name, limits);
        let _ = child.kill();
        let _ = child.wait();
        result
    }

    fn acquire(&self) -> Slot<'_> {
        let mut busy = self.busy.lock().expect("busy");
        while *busy >= self.limits.concurrency.max(1) {
            busy = self.freed.wait(busy).expect("busy");
        }
        *busy += 1;
        Slot(self)
    }
}

/// One of the `concurrency` places; given back on drop.
struct Slot<'a>(&'a ProcessReader);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.busy.lock().expect("busy") -= 1;
        self.0.freed.notify_one();
    }
}

/// The server could not run a reader: its trouble, not the document's.
fn unavailable(reason: String) -> DocumentError {
    DocumentError::ReaderUnavailable(reason)
}

/// Sends the request, waits for the answer (at most `limits.timeout`) and explains a child that
/// died without one.
fn run_child(
    child: &mut Child,
    bytes: &[u8],
    file_name: Option<String>,
    limits: Limits,
) -> Result<ExtractedText, DocumentError> {
    let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(unavailable("the reader has no pipes".into()));
    };
    // Both outputs are drained on threads so a child never blocks on a full pipe; the answer
    // is bounded by the text limit (a JSON-escaped character is at most 12 bytes).
    let answer_cap = (limits.max_chars as u64) * 12 + 64 * 1024;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let read = (&mut stdout).take(answer_cap).read_to_end(&mut out);
        let _ = tx.send(read.map(|_| out));
    });
    let errors = std::thread::spawn(move || {
        let mut err = Vec::new();
        let _ = (&mut stderr).take(64 * 1024).read_to_end(&mut err);
        String::from_utf8_lossy(&err).into_owned()
    });
    let header = serde_json::to_vec(&Request { file_name, limits }).expect("request header");
    let sent = stdin
        .write_all(&header)
        .and_then(|_| stdin.write_all(b"\n"))
        .and_then(|_| stdin.write_all(bytes));
    drop(stdin);

    let answer = match rx.recv_timeout(limits.timeout) {
        Ok(Ok(out)) => out,
        Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => Vec::new(),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(DocumentError::Timeout(limits.timeout));
        }
    };
    let status = child.wait().ok();
    if let Ok(result) = serde_json::from_slice::<Result<ExtractedText, DocumentError>>(&answer) {
        return result;
    }
    let stderr = errors.join().unwrap_or_default();
    if sent.is_err() && status.is_none() {
        return Err(unavailable(
            "the reader stopped before it had the file".into(),
        ));
    }
    Err(explain_death(status, &stderr))
}

/// Why a child ended without an answer, in the uploader's terms.
fn explain_death(status: Option<std::process::ExitStatus>, stderr: &str) -> DocumentError {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.and_then(|s| s.signal()) {
            if sig == libc::SIGXCPU || sig == libc::SIGKILL {
                return DocumentError::TooComplex("reading it used up the CPU time limit".into());
            }
        }
    }
    if stderr.contains("memory allocation") || stderr.contains("capacity overflow") {
        return DocumentError::TooComplex("reading it needed more memory than allowed".into());
    }
    if stderr.contains("stack overflow") {
        return DocumentError::TooComplex("it is nested too deeply to read".into());
    }
    DocumentError::Malformed {
        kind: "document".into(),
        reason: "the parser could not read it".into(),
    }
}

#[cfg(unix)]
fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: value as libc::rlim_t,
        rlim_max: value as libc::rlim_t,
    };
    // SAFETY: a plain system call on a struct we own.
    if unsafe { libc::setrlimit(resource, &limit) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The child's side: one request from standard input, one answer on standard output. Returns
/// the process exit code. An empty standard input (the parent exited before using this spare)
/// ends quietly.
pub fn child_main() -> i32 {
    let mut input = Vec::new();
    if std::io::stdin().lock().read_to_end(&mut input).is_err() || input.is_empty() {
        return 0;
    }
    let Some(newline) = input.iter().position(|b| *b == b'\n') else {
        eprintln!("read-document: no request header");
        return 2;
    };
    let request: Request = match serde_json::from_slice(&input[..newline]) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("read-document: bad request header: {e}");
            return 2;
        }
    };
    let bytes = &input[newline + 1..];
    let result = std::panic::catch_unwind(|| {
        document::extract_text(bytes, request.file_name.as_deref(), request.limits)
    })
    .unwrap_or_else(|_| {
        Err(DocumentError::Malformed {
            kind: "document".into(),
            reason: "the parser could not read it".into(),
        })
    });
    let mut out = std::io::stdout().lock();
    if serde_json::to_writer(&mut out, &result).is_err() || out.flush().is_err() {
        return 1;
    }
    0
}
