// Browser test of the page `onestone serve` embeds (web/index.html), in headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core (scripts/setup_browser_test.sh installs it). Run by
// tests/test_serve_web.c:
//   node tests/web/page_test.cjs ONESTONE_BIN MODEL_DIR REPO_DIR SCRATCH_DIR
// Starts a server with a bearer token on an ephemeral port, types the token and a sentence like a user, and
// checks that every task's output appears and agrees with the API: entities highlighted, relations between
// them, class labels with scores, multi-label scores, the regression value; then a text with typed entity
// markers, and a wrong token. Exits 1 on any failure, including a browser that cannot start.
"use strict";
const { spawn } = require("child_process");
const path = require("path");

const [bin, modelDir, repo] = process.argv.slice(2);
const TOKEN = "page-test-token";
const CHROMIUM = "/usr/bin/chromium";
let failures = 0;

function check(cond, what) {
  if (!cond) {
    failures++;
    console.error("FAIL: " + what);
  }
  return cond;
}

function startServer() {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ONESTONE_SERVE_TOKEN: TOKEN };
    const proc = spawn(bin, ["serve", modelDir, "--port", "0"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    proc.stderr.on("data", (d) => { err += d; });
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]), stderr: () => err });
    });
    proc.on("exit", (code) => reject(new Error("server exited with " + code + ": " + err)));
    setTimeout(() => reject(new Error("server did not start: " + err)), 60000);
  });
}

async function api(port, body) {
  const resp = await fetch(`http://127.0.0.1:${port}/v1/predict`, {
    method: "POST", headers: { Authorization: "Bearer " + TOKEN }, body: JSON.stringify(body),
  });
  return (await resp.json()).prediction;
}

async function submit(page, text) {
  await page.fill("#text", "");
  await page.click("#text");
  await page.keyboard.type(text);
  await page.click("#predict");
  await page.waitForFunction(() => {
    const s = document.getElementById("status");
    return s.className === "error" || / ms$/.test(s.textContent);
  }, null, { timeout: 30000 });
}

async function main() {
  let playwright;
  try {
    playwright = require(path.join(repo, "node_modules", "playwright-core"));
  } catch (e) {
    console.error("page_test: playwright-core is missing: run scripts/setup.sh (" + e.message + ")");
    return 1;
  }
  const server = await startServer();
  let browser;
  try {
    try {
      browser = await playwright.chromium.launch({ executablePath: CHROMIUM, headless: true,
                                                  args: ["--no-sandbox", "--disable-gpu"], timeout: 60000 });
    } catch (e) {
      console.error("page_test: Chromium (" + CHROMIUM + ") cannot start: " + e.message);
      return 1;
    }
    const page = await browser.newPage();
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.port}/`);

    // A wrong token: the page says 401 and shows no results.
    await page.fill("#token", "wrong-token");
    await page.dispatchEvent("#token", "change");
    await submit(page, "the cat sat");
    const status = await page.textContent("#status");
    check(/^401/.test(status) && (await page.getAttribute("#status", "class")) === "error", "wrong token: " + status);
    check((await page.$$(".task")).length === 0, "no results with a wrong token");

    // The right token and a sentence: every task appears.
    await page.fill("#token", TOKEN);
    await page.dispatchEvent("#token", "change");
    const sentence = "the cat sat on the mat .";
    await submit(page, sentence);
    const want = await api(server.port, { text: sentence });
    const sections = await page.$$eval(".task", (s) => s.map((e) => e.dataset.task));
    check(JSON.stringify(sections) === JSON.stringify(["ner", "relation", "sentiment", "topics", "score"]),
          "a section per task: " + JSON.stringify(sections) + " (status: " + (await page.textContent("#status")) + ")");
    // Entities: the test model tags every word B-PER, so each word is one highlighted PER entity.
    const marks = await page.$$eval("#task-ner mark.ent", (m) => m.map((e) => [e.firstChild.textContent, e.dataset.label]));
    const words = want.ner.words.map((w) => w.word);
    check(JSON.stringify(marks.map((m) => m[0])) === JSON.stringify(words) && marks.every((m) => m[1] === "PER"),
          "highlighted entities: " + JSON.stringify(marks));
    check((await page.textContent("#task-ner .tokens")).replace(/PER/g, "") === sentence, "the text is shown whole");
    // Relations between the first entities (pairs in text order, at most 10).
    const pairs = await page.$$eval("#task-relation tr.pair", (r) => r.map((e) => [...e.cells].map((c) => c.textContent)));
    check(pairs.length === 10 && pairs[0][0] === "the" && pairs[0][3] === "cat", "relation pairs: " + JSON.stringify(pairs[0]));
    const rel = await api(server.port, { text: "<e1>the</e1> <e2>cat</e2> sat on the mat .", tasks: ["relation"] });
    check(pairs.length > 0 && pairs[0][1] === rel.relation.label && pairs[0][2].trim() === rel.relation.score.toFixed(3),
          "first pair as the API classifies it: " + JSON.stringify(pairs[0]) + " vs " + JSON.stringify(rel.relation));
    // Classification label and score, multi-label scores, regression value.
    const sent = await page.textContent("#task-sentiment .result");
    check(sent.includes(want.sentiment.label) && sent.includes(want.sentiment.score.toFixed(3)), "sentiment: " + sent);
    const topics = await page.$$eval("#task-topics tr", (r) => r.map((e) => e.cells[0].textContent));
    check(JSON.stringify(topics) === JSON.stringify(Object.keys(want.topics.scores)), "topics: " + JSON.stringify(topics));
    const value = await page.textContent("#task-score .value");
    check(Math.abs(Number(value) - want.score.value) < 1e-3 * Math.max(1, Math.abs(want.score.value)), "score: " + value);

    // Typed entity markers: the relation of that pair directly.
    const marked = "the <e1>cat</e1> sat on the <e2>mat</e2> .";
    await submit(page, marked);
    const direct = await api(server.port, { text: marked });
    const relText = await page.textContent("#task-relation .result");
    check(relText.includes(direct.relation.label) && relText.includes(direct.relation.score.toFixed(3)) &&
          (await page.$$("#task-relation tr.pair")).length === 0, "marked relation: " + relText);
    check(pageErrors.length === 0, "JavaScript errors on the page: " + pageErrors.join("; "));
  } finally {
    if (browser) await browser.close();
    server.proc.kill("SIGTERM");
    const code = await new Promise((r) => server.proc.on("exit", r));
    check(code === 0, "server exit status " + code + ": " + server.stderr());
  }
  console.log(failures ? failures + " checks failed" : "page_test: all checks passed");
  return failures ? 1 : 0;
}

main().then((rc) => process.exit(rc), (e) => {
  console.error("page_test: " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
