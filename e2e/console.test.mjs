// Browser test of the console: start `qiao demo`, log in with the password from demo.json,
// follow every entry of the rendered navigation (not a hard-coded list), change a setting,
// find the change in the audit log, switch language, and save a screenshot of each page
// under target/e2e/. Run with: QIAO_TEST_BIN=target/debug/qiao node --test e2e/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..');
const qiaoBin = process.env.QIAO_TEST_BIN ?? join(root, 'target/debug/qiao');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const shots = join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'e2e');
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

let demo;
let output = '';
let consoleUrl;
let secrets;
let browser;

/** Starts `qiao demo` on a random port and waits for it to print its URLs. */
function startDemo(dataDir) {
  return new Promise((resolveStart, rejectStart) => {
    const child = spawn(qiaoBin, ['demo', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
      env: { ...process.env, QIAO_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => rejectStart(new Error(`demo did not start:\n${output}`)), 60_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = output.match(/console:\s+(\S+)/);
      if (match && output.includes('Ctrl-C')) {
        clearTimeout(timer);
        resolveStart({ child, url: match[1] });
      }
    });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('exit', (code) => rejectStart(new Error(`demo exited with ${code}:\n${output}`)));
  });
}

before(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'qiao-e2e-'));
  const started = await startDemo(dataDir);
  demo = started.child;
  consoleUrl = started.url;
  secrets = JSON.parse(readFileSync(join(dataDir, 'demo.json'), 'utf8'));
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (demo) {
    demo.kill('SIGTERM');
    await new Promise((r) => demo.once('exit', r));
  }
  // Nothing the demo printed may contain its secrets.
  for (const secret of [secrets?.admin?.password, secrets?.api_key]) {
    if (secret) assert.ok(!output.includes(secret), 'a secret appeared in the demo output');
  }
});

async function login(page, password) {
  await page.goto(consoleUrl);
  assert.match(page.url(), /\/console\/login$/, 'an anonymous visit lands on the login page');
  await page.fill('input[name=username]', secrets.admin.username);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
}

function assertNoSecrets(html, where) {
  for (const secret of [secrets.admin.password, secrets.api_key]) {
    assert.ok(!html.includes(secret), `${where} shows a secret`);
  }
}

test('a wrong password gets one generic error', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await login(page, 'not-the-password');
  assert.match(page.url(), /\/console\/login$/);
  const alert = await page.textContent('[role=alert]');
  assert.ok(alert.includes('用户名或密码错误'), alert);
  await page.screenshot({ path: join(shots, '00-login-failed.png'), fullPage: true });
  await context.close();
});

test('log in, visit every page of the navigation, change a setting, see it audited', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await login(page, secrets.admin.password);
  assert.ok(page.url().endsWith('/console'), page.url());

  const entries = await page.$$eval('[data-testid=nav] a', (links) =>
    links.map((a) => ({ href: a.getAttribute('href'), label: a.textContent.trim() })));
  assert.ok(entries.length >= 4, `navigation has ${entries.length} entries`);
  let index = 1;
  for (const entry of entries) {
    const response = await page.goto(new URL(entry.href, consoleUrl).href);
    assert.equal(response.status(), 200, `${entry.href} answers 200`);
    const heading = (await page.textContent('main h1')).trim();
    assert.ok(heading.length > 0, `${entry.href} has a heading`);
    const active = await page.textContent('[data-testid=nav] a[aria-current=page]');
    assert.equal(active.trim(), entry.label, `${entry.href} is marked in the navigation`);
    assertNoSecrets(await page.content(), entry.href);
    const name = entry.href.replace(/^\/console\/?/, '') || 'home';
    await page.screenshot({ path: join(shots, `${String(index).padStart(2, '0')}-${name}.png`), fullPage: true });
    index += 1;
  }

  // Change a setting through the form.
  const settings = entries.find((e) => e.href === '/console/settings');
  assert.ok(settings, 'the navigation links the settings page');
  await page.goto(new URL(settings.href, consoleUrl).href);
  await page.fill('input[name=external_url]', 'https://qiao-e2e.example.com');
  await page.fill('input[name=public_egress_ip]', '203.0.113.77');
  await Promise.all([page.waitForURL(/saved=1/), page.click('[data-testid=settings-form] button[type=submit]')]);
  assert.ok((await page.textContent('[role=status]')).includes('已保存'));
  assert.equal(await page.inputValue('input[name=external_url]'), 'https://qiao-e2e.example.com');
  await page.screenshot({ path: join(shots, `${String(index).padStart(2, '0')}-settings-saved.png`), fullPage: true });
  index += 1;

  // The change is in the audit log, with who made it and the new value.
  await page.goto(new URL('/console/audit', consoleUrl).href);
  const row = page.locator('[data-testid=audit-table] tbody tr', { hasText: 'settings.update' }).first();
  const text = await row.textContent();
  assert.ok(text.includes('admin:admin'), text);
  assert.ok(text.includes('https://qiao-e2e.example.com'), text);
  assert.ok(text.includes('203.0.113.77'), text);
  await page.screenshot({ path: join(shots, `${String(index).padStart(2, '0')}-audit-after-change.png`), fullPage: true });
  index += 1;

  // The demo registered the simulator's Official Account; register another through the form.
  await page.goto(new URL('/console/official-accounts', consoleUrl).href);
  const simulatorOa = secrets.simulator.official_accounts[0];
  assert.ok((await page.textContent('[data-testid=channels-table]')).includes(simulatorOa.app_id));
  const form = '[data-testid=channel-form]';
  const newSecret = 'e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0';
  await page.fill(`${form} input[name=name]`, 'E2E 服务号');
  await page.fill(`${form} input[name=app_id]`, 'wxe2e00000000000a1');
  await page.fill(`${form} input[name=app_secret]`, newSecret);
  await page.fill(`${form} input[name=original_id]`, 'gh_0e2e00000001');
  await Promise.all([page.waitForURL(/\/console\/channels\/\d+\?saved=1/), page.click(`${form} button[type=submit]`)]);
  const detail = await page.content();
  assert.ok(detail.includes('wxe2e00000000000a1') && detail.includes('******e2e0'), 'the new channel shows its secret masked');
  assert.ok(!detail.includes(newSecret) && !detail.includes(simulatorOa.app_secret), 'no secret in clear');
  await page.screenshot({ path: join(shots, `${String(index).padStart(2, '0')}-channel-created.png`), fullPage: true });
  index += 1;

  // Its auto-reply rules (回调设置): the match mode and keyword are for text rules only.
  await Promise.all([page.waitForURL(/\/reply-rules$/), page.click('[data-testid=reply-rules-link]')]);
  const ruleForm = '[data-testid=reply-rule-form]';
  await page.selectOption(`${ruleForm} select[name=action]`, 'image');
  assert.ok(await page.isDisabled(`${ruleForm} input[name=keyword]`), 'an image rule has no keyword');
  await page.selectOption(`${ruleForm} select[name=action]`, 'text');
  await page.fill(`${ruleForm} input[name=name]`, '报销指引');
  await page.selectOption(`${ruleForm} select[name=match_mode]`, 'prefix');
  await page.fill(`${ruleForm} input[name=keyword]`, '报销');
  await page.fill(`${ruleForm} textarea[name=reply]`, '报销请在 OA 提交：\nhttps://oa.example.com/expense');
  await page.fill(`${ruleForm} input[name=priority]`, '10');
  await Promise.all([page.waitForURL(/reply-rules\?saved=1/), page.click(`${ruleForm} button[type=submit]`)]);
  const rules = await page.textContent('[data-testid=reply-rules-table]');
  assert.ok(rules.includes('报销指引') && rules.includes('https://oa.example.com/expense'), rules);
  await page.screenshot({ path: join(shots, `${String(index).padStart(2, '0')}-reply-rules.png`), fullPage: true });
  index += 1;

  // A business system with a webhook subscription: the secret is shown once, masked after; a
  // test event goes out through the background dispatcher and shows in the delivery log.
  await page.goto(new URL('/console/business-systems', consoleUrl).href);
  const systemForm = '[data-testid=business-system-form]';
  await page.fill(`${systemForm} input[name=name]`, 'E2E OA');
  await page.fill(`${systemForm} textarea[name=allowed_origins]`, 'https://oa.e2e.example.com');
  await Promise.all([page.waitForURL(/\/console\/business-systems\/\d+\?done=saved/), page.click(`${systemForm} button[type=submit]`)]);
  const systemUrl = page.url().replace(/\?.*$/, '');
  const hookForm = '[data-testid=subscription-form]';
  await page.fill(`${hookForm} input[name=url]`, new URL('/healthz', consoleUrl).href);
  await page.check(`${hookForm} input[name=event_types][value="webhook.test"]`);
  await Promise.all([page.waitForLoadState('load'), page.click(`${hookForm} button[type=submit]`)]);
  const hookSecret = (await page.textContent('[data-testid=new-secret]')).trim();
  assert.match(hookSecret, /^whsec_[A-Za-z0-9_-]{43}$/);
  await page.screenshot({ path: join(shots, `${String(index).padStart(2, '0')}-webhook-secret-shown-once.png`), fullPage: true });
  index += 1;
  await page.goto(systemUrl);
  const systemPage = await page.content();
  assert.ok(!systemPage.includes(hookSecret), 'the secret is not shown again');
  assert.ok(systemPage.includes(`******${hookSecret.slice(-4)}`), 'the secret is shown masked');
  await Promise.all([page.waitForURL(/done=test/), page.click('[data-testid=subscriptions-table] button:has-text("发送测试")')]);
  // /healthz takes no POST: the attempt fails and is logged with its HTTP status.
  let log = '';
  for (let tries = 0; tries < 20 && !log.includes('405'); tries += 1) {
    await page.waitForTimeout(500);
    await page.goto(`${systemUrl}#log`);
    log = await page.textContent('[data-testid=deliveries-table]');
  }
  assert.ok(log.includes('webhook.test') && log.includes('405'), log);
  await page.screenshot({ path: join(shots, `${String(index).padStart(2, '0')}-business-system.png`), fullPage: true });
  index += 1;

  // English switch.
  await page.click('a[href="/console/lang/en"]');
  await page.waitForLoadState('load');
  const labels = await page.$$eval('[data-testid=nav] a', (links) => links.map((a) => a.textContent.trim()));
  assert.ok(labels.includes('Basic settings') && labels.includes('Audit log'), labels.join(', '));
  await page.screenshot({ path: join(shots, `${String(index).padStart(2, '0')}-english.png`), fullPage: true });

  // Logging out ends the session.
  await Promise.all([page.waitForURL(/\/console\/login$/), page.click('header form button[type=submit]')]);
  await page.goto(consoleUrl);
  assert.match(page.url(), /\/console\/login$/);
  await context.close();
});
