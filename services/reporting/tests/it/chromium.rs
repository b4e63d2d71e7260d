//! The HTML report in a real browser: headless Chromium (Debian's `chromium`) must show the sample report as a
//! page with text on a light background, log no console message for it (no script error, no resource blocked by
//! the page's Content-Security-Policy), and print it to a PDF whose first page carries the title (read back with
//! `pdftotext` from poppler-utils).
//!
//! When `chromium` or `pdftotext` is not installed the tests print a note and pass, except on CI (`CI=true`),
//! where a missing browser would otherwise turn these checks into silent passes.

use liaison_reporting::render::{Format, fixture::sample_report, render};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Chromium starts in well under a second here; a minute means it hangs.
const TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn chromium_shows_the_html_report_as_text_on_a_light_background() {
    let Some(chromium) = require("chromium", "chromium") else { return };
    let dir = Workdir::new("screenshot");
    let page = write_page(&dir, &sample_html());
    let png = dir.join("page.png");
    let args = [format!("--screenshot={}", png.display()), "--window-size=1280,2000".to_owned()];
    run_chromium(&chromium, &dir, "screenshot", &args, &page);

    let bytes = std::fs::read(&png).expect("chromium wrote no screenshot");
    let luminance = luminance(&bytes);
    let share =
        |pred: &dyn Fn(f64) -> bool| luminance.iter().filter(|l| pred(**l)).count() as f64 / luminance.len() as f64;
    let dark = share(&|l| l < 128.0);
    let light = share(&|l| l > 200.0);
    assert!(dark > 0.005, "only {:.3}% of the screenshot is dark: no text drawn? ({})", dark * 100.0, png.display());
    assert!(light > 0.5, "only {:.1}% of the screenshot is light: no page? ({})", light * 100.0, png.display());
}

#[test]
fn chromium_logs_no_console_message_for_the_html_report() {
    let Some(chromium) = require("chromium", "chromium") else { return };
    let dir = Workdir::new("console");
    let report = sample_report();
    let page = write_page(&dir, &sample_html());
    let (dom, messages) = load(&chromium, &dir, &page);
    // Without the page in the DOM an empty console would prove nothing.
    assert!(dom.contains(&format!("<h1>{}</h1>", report.title)), "the page did not load:\n{dom}");
    assert!(messages.is_empty(), "console messages for the report page:\n{}", messages.join("\n"));
}

/// The console check of the previous test, on pages that are broken on purpose: it must report them.
#[test]
fn the_console_check_catches_a_script_error_and_a_blocked_outside_resource() {
    let Some(chromium) = require("chromium", "chromium") else { return };
    let dir = Workdir::new("console-broken");
    let html = sample_html();
    let csp =
        r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'" />"#;
    assert!(html.contains(csp));

    // Without the policy, so that the scripts run: an uncaught exception, and `console.error` (which Chromium
    // logs at level INFO like any console message, hence a check on `CONSOLE` and not on `ERROR`).
    let scripts = r#"</h1><script>undefinedFunction();</script><script>console.error("boom");</script>"#;
    let script_page = html.replacen(csp, "", 1).replacen("</h1>", scripts, 1);
    let (_, messages) = load(&chromium, &dir, &write_page_named(&dir, "script.html", &script_page));
    assert!(messages.iter().any(|m| m.contains("Uncaught ReferenceError: undefinedFunction")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("boom")), "{messages:#?}");

    // With the policy, an image from outside is blocked, and the violation is logged.
    let image = r#"</h1><img src="https://example.invalid/logo.png" alt="" />"#;
    let image_page = html.replacen("</h1>", image, 1);
    let (_, messages) = load(&chromium, &dir, &write_page_named(&dir, "image.html", &image_page));
    assert!(
        messages.iter().any(|m| m.contains("example.invalid") && m.contains("Content Security Policy")),
        "{messages:#?}"
    );
}

#[test]
fn chromium_prints_the_html_report_to_pdf_with_the_title_on_page_one() {
    let Some(chromium) = require("chromium", "chromium") else { return };
    let Some(pdftotext) = require("pdftotext", "poppler-utils") else { return };
    let dir = Workdir::new("pdf");
    let report = sample_report();
    let page = write_page(&dir, &sample_html());
    let pdf = dir.join("page.pdf");
    let args = [format!("--print-to-pdf={}", pdf.display()), "--no-pdf-header-footer".to_owned()];
    run_chromium(&chromium, &dir, "pdf", &args, &page);

    let args =
        ["-f".to_owned(), "1".to_owned(), "-l".to_owned(), "1".to_owned(), pdf.display().to_string(), "-".to_owned()];
    let output = run(&pdftotext, &args, &dir, "pdftotext");
    assert!(output.status.success(), "pdftotext failed ({}): {}", output.status, output.stderr);
    // The title may wrap on the page: compare with whitespace runs collapsed.
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = words(&output.stdout);
    assert!(text.contains(&words(&report.title)), "page one of {} does not show the title:\n{text}", pdf.display());
}

fn sample_html() -> String {
    let file = render(&sample_report(), Format::Html).unwrap().remove(0);
    String::from_utf8(file.content).unwrap()
}

/// The program's path, or `None` (after a note) when it is not installed; on CI its absence is a failure.
fn require(program: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file());
    if found.is_none() {
        let message = format!("`{program}` is not installed (Debian package `{package}`)");
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}: CI must install it");
        eprintln!("note: skipping, {message}");
    }
    found
}

/// A directory of the test's own under Cargo's temporary directory (the process id in its name, should two test
/// runs share a target directory), removed when the test passes and left, with the page, the screenshot and
/// Chromium's logs, when it fails.
struct Workdir(PathBuf);

impl Workdir {
    fn new(test: &str) -> Workdir {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("chromium").join(format!("{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Workdir(dir)
    }
}

impl std::ops::Deref for Workdir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn write_page(dir: &Path, html: &str) -> PathBuf {
    write_page_named(dir, "report.html", html)
}

fn write_page_named(dir: &Path, name: &str, html: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, html).unwrap();
    path
}

/// Loads the page and returns the DOM Chromium built, and the console messages it logged.
///
/// With `--enable-logging=stderr` Chromium logs each console message of the page (`console.*`, uncaught
/// exceptions, Content-Security-Policy violations) as `[…:INFO:CONSOLE:<line>] "<message>", source: <url>`
/// (`CONSOLE(<line>)` in older versions), whatever the message's level. The report page runs no script, so any
/// such line is a fault. Chromium's other error lines (D-Bus is missing in a container) are not about the page.
fn load(chromium: &Path, dir: &Path, page: &Path) -> (String, Vec<String>) {
    let name = page.file_stem().and_then(|s| s.to_str()).unwrap_or("page").to_owned();
    let args = ["--enable-logging=stderr".to_owned(), "--dump-dom".to_owned()];
    let output = run_chromium(chromium, dir, &format!("dom-{name}"), &args, page);
    let messages = output.stderr.lines().filter(|line| line.contains(":CONSOLE")).map(str::to_owned).collect();
    (output.stdout, messages)
}

fn run_chromium(chromium: &Path, dir: &Path, name: &str, extra: &[String], page: &Path) -> Output {
    let profile = dir.join(format!("profile-{name}"));
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--mute-audio",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend_from_slice(extra);
    args.push(format!("file://{}", page.display()).replace(' ', "%20"));
    let output = run(chromium, &args, dir, name);
    assert!(output.status.success(), "chromium {name} failed ({}):\n{}", output.status, tail(&output.stderr));
    output
}

struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `program` with its output in files (Chromium's verbose log would fill a pipe nobody reads yet), killing
/// it and the processes it started (its own process group) after `TIMEOUT`.
fn run(program: &Path, args: &[String], dir: &Path, name: &str) -> Output {
    let stdout_path = dir.join(format!("{name}.stdout"));
    let stderr_path = dir.join(format!("{name}.stderr"));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            panic!("{} {name} did not finish in {TIMEOUT:?}; killed:\n{}", program.display(), tail(&stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    Output { status, stdout: read(&stdout_path), stderr: read(&stderr_path) }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The luminance (0–255) of every pixel of a PNG.
fn luminance(png: &[u8]) -> Vec<f64> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let samples = info.color_type.samples();
    buffer[..info.buffer_size()]
        .chunks_exact(samples)
        .map(|pixel| match pixel {
            [grey] | [grey, _] => f64::from(*grey),
            [r, g, b] | [r, g, b, _] => 0.2126 * f64::from(*r) + 0.7152 * f64::from(*g) + 0.0722 * f64::from(*b),
            _ => unreachable!("a pixel has 1 to 4 samples"),
        })
        .collect()
}
