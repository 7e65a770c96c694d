//! The `--html` page in a real headless browser (Debian's `chromium`, driven through `chromedriver` over the
//! WebDriver protocol): it loads without console errors, its buttons step through the forward pass and then
//! reveal the gradients in the reverse loop's order, and a screenshot of its final state is taken
//! (`BACKPROP_UPDATE_DOCS=1` writes it to `docs/apple_orange_html.png`, which the README shows).
//!
//! Without chromium the test skips with a note, except in CI (`CI` set), where it fails.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The key under which WebDriver returns an element's id.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session on a chromedriver this test started; both end on drop.
struct Browser {
    driver: Child,
    agent: ureq::Agent,
    session: String,
}

impl Browser {
    fn start() -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut browser = Browser {
            driver,
            agent,
            session: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while browser.get("/status").is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not answer"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,900"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let created = browser.post("/session", &capabilities);
        let id = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"));
        browser.session = format!("{}/session/{id}", browser.session);
        browser
    }

    fn get(&self, path: &str) -> Result<Value, ureq::Error> {
        let mut response = self.agent.get(format!("{}{path}", self.session)).call()?;
        let body = response.body_mut().read_to_string()?;
        Ok(serde_json::from_str::<Value>(&body).expect("WebDriver answers JSON")["value"].take())
    }

    fn post(&self, path: &str, body: &Value) -> Value {
        let url = format!("{}{path}", self.session);
        let mut response = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let text = response.body_mut().read_to_string().unwrap();
        let mut answer: Value = serde_json::from_str(&text).expect("WebDriver answers JSON");
        assert!(answer["value"]["error"].is_null(), "POST {url}: {text}");
        answer["value"].take()
    }

    fn script(&self, code: &str) -> Value {
        self.post("/execute/sync", &json!({"script": code, "args": []}))
    }

    fn click(&self, css: &str) {
        let element = self.post("/element", &json!({"using": "css selector", "value": css}));
        let id = element[ELEMENT].as_str().expect("an element id").to_owned();
        self.post(&format!("/element/{id}/click"), &json!({}));
    }

    /// The browser console's messages since the last call, as (level, message).
    fn console(&self) -> Vec<(String, String)> {
        let log = self.post("/se/log", &json!({"type": "browser"}));
        let entries = log.as_array().cloned().unwrap_or_default();
        entries
            .iter()
            .map(|e| {
                (
                    e["level"].as_str().unwrap_or("").into(),
                    e["message"].as_str().unwrap_or("").into(),
                )
            })
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.session).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Decodes standard base64 (the screenshot's PNG).
fn base64(text: &str) -> Vec<u8> {
    let digit = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(digit).collect();
    digits
        .chunks(4)
        .flat_map(|chunk| {
            let bits = chunk.iter().fold(0u32, |acc, &d| acc << 6 | u32::from(d))
                << (6 * (4 - chunk.len()));
            let bytes = bits.to_be_bytes();
            bytes[1..chunk.len()].to_vec()
        })
        .collect()
}

/// What the page shows: the caption, the visible forward values, and the visible gradients with whether
/// each is the newest.
fn state(browser: &Browser) -> (String, usize, Vec<(String, bool)>) {
    let v = browser.script(
        "const shown = (t) => !t.classList.contains('hidden') && getComputedStyle(t).visibility !== 'hidden';
         return [document.getElementById('caption').textContent,
                 Array.from(document.querySelectorAll('#graph .value')).filter(shown).length,
                 Array.from(document.querySelectorAll('#graph .gradient')).filter(shown)
                      .map((t) => [t.textContent, t.classList.contains('newest')])];",
    );
    let gradients = v[2]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g[0].as_str().unwrap().to_owned(), g[1].as_bool().unwrap()))
        .collect();
    (
        v[0].as_str().unwrap().to_owned(),
        v[1].as_u64().unwrap() as usize,
        gradients,
    )
}

#[test]
fn the_page_steps_through_both_passes_in_a_real_browser() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
        );
        eprintln!("note: {CHROMIUM} or {CHROMEDRIVER} is missing; skipping the browser test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("apple_orange.html");
    let made = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args([
            "draw",
            "price = (apple * apple_num + orange * orange_num) * tax",
        ])
        .args([
            "apple=100",
            "apple_num=2",
            "orange=150",
            "orange_num=3",
            "tax=1.1",
        ])
        .args(["--html".as_ref(), page.as_os_str()])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let browser = Browser::start();
    browser.post(
        "/url",
        &json!({"url": format!("file://{}", page.display())}),
    );
    let steps = browser.script("return document.querySelectorAll('#steps li').length;");
    // 1 + 4 forward steps (the inputs, ×, ×, +, ×), then 1 + 4 backward steps (the seed, ×, +, ×, ×).
    assert_eq!(steps, 10);

    let (caption, values, gradients) = state(&browser);
    assert_eq!(caption, "Forward pass: the inputs");
    assert_eq!(values, 5, "only the inputs' values at first");
    assert!(gradients.is_empty());
    let mut shown_values = values;
    for j in 1..=4 {
        browser.click("#next");
        let (caption, values, gradients) = state(&browser);
        assert!(
            caption.starts_with(&format!("Forward step {j} of 4: ")),
            "{caption}"
        );
        assert!(values > shown_values, "forward step {j} reveals a value");
        assert!(gradients.is_empty());
        shown_values = values;
    }
    assert!(state(&browser).0.ends_with("× (price) computes 715"));

    // The backward pass: each step adds the newest gradients, in the reverse loop's order.
    let mut seen: Vec<String> = Vec::new();
    let mut added: Vec<Vec<String>> = Vec::new();
    for k in 0..=4 {
        browser.click("#next");
        let (caption, _, gradients) = state(&browser);
        assert!(
            caption.starts_with(&format!(
                "Backward {}",
                if k == 0 { "pass" } else { "step" }
            )),
            "{caption}"
        );
        let mut new: Vec<String> = gradients
            .iter()
            .filter(|g| g.1)
            .map(|g| g.0.clone())
            .collect();
        new.sort();
        assert_eq!(
            gradients.len(),
            seen.len() + new.len(),
            "step {k} keeps the earlier gradients"
        );
        seen = gradients.into_iter().map(|g| g.0).collect();
        added.push(new);
    }
    assert_eq!(
        added[..3],
        [vec!["1"], vec!["1.1", "650"], vec!["1.1", "1.1"]]
    );
    let mut multiplies = [added[3].clone(), added[4].clone()];
    multiplies.sort();
    assert_eq!(multiplies, [vec!["110", "2.2"], vec!["165", "3.3"]]);
    assert_eq!(
        browser.script("return document.getElementById('next').disabled;"),
        true
    );

    let console = browser.console();
    let bad: Vec<&(String, String)> = console
        .iter()
        .filter(|(level, _)| level == "SEVERE" || level == "WARNING")
        .collect();
    assert!(bad.is_empty(), "console errors: {bad:?}");
    // The console check can see errors: a deliberate one shows up.
    browser.script("console.error('probe');");
    assert!(browser
        .console()
        .iter()
        .any(|(level, m)| level == "SEVERE" && m.contains("probe")));

    let png = base64(browser.get("/screenshot").unwrap().as_str().unwrap());
    assert!(png.starts_with(b"\x89PNG"));
    let shot: PathBuf = match std::env::var_os("BACKPROP_UPDATE_DOCS") {
        Some(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/apple_orange_html.png"),
        None => dir.path().join("final.png"),
    };
    std::fs::write(&shot, png).unwrap();
    // Going back to the start hides every gradient again.
    browser.click("#first");
    assert!(state(&browser).2.is_empty());
}
