/**
 * Proves the dashboard in a real browser against a real three-member cluster: with a lock
 * held (its owner and name carrying HTML markup), an instance registered and a transaction
 * begun, headless Chromium (driven by playwright-core) opens a follower's /dashboard, clicks
 * through every tab, and finds what the cluster says over gRPC: the leader's name, the lock
 * holder and fencing token, the instance with its address and state, the preparing
 * transaction; the markup shows as text (no element is injected), every member is shown
 * healthy, and the page logs no console error. Skipped only where /usr/bin/chromium is
 * absent (CI installs Debian's chromium).
 */
import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cairnService } from '../../src/common/proto-loader.js';
import { TestCluster } from '../support/cluster.js';
import { unary, type Wire } from '../support/etcd-grpc.js';

const CHROMIUM = '/usr/bin/chromium';
const LOCK_NAME = 'orders/<i>42</i>';
const LOCK_OWNER = '<img src=x onerror="window.__injected=1">worker-7';
const SERVICE = 'payments-api';
const INSTANCE = 'pay-1';
const TXN = 'txn-<b>9</b>';

describe.skipIf(!existsSync(CHROMIUM))('dashboard in headless Chromium', () => {
  let cluster: TestCluster;
  let browser: Browser | undefined;
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    cluster = await TestCluster.start(undefined, { metrics: true });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    for (const c of clients) c.close();
    await cluster?.stop();
  });

  function client(file: string, service: string, endpoint: string): grpc.Client {
    const ctor = cairnService(file, service);
    const c = new ctor(endpoint, grpc.credentials.createInsecure());
    clients.push(c);
    return c;
  }

  it('shows the leader, the lock, the instance and the transaction as the cluster has them', async () => {
    const leader = await cluster.leaderName();
    const follower = cluster.topology.members.find((m) => m.name !== leader)!;
    const endpoint = cluster.endpoints([leader])[0]!;
    const locks = client('lock.proto', 'LockService', endpoint);
    const membership = client('membership.proto', 'MembershipService', endpoint);
    const coordinator = client('coordinator.proto', 'CoordinatorService', endpoint);

    const acquired: Wire = await unary(locks, 'Acquire', {
      name: Buffer.from(LOCK_NAME),
      ttl_seconds: 120,
      owner: LOCK_OWNER,
      wait_timeout_ms: 5_000,
    });
    await unary(membership, 'Register', {
      service: SERVICE,
      instance_id: INSTANCE,
      address: '10.1.2.3:8443',
      weight: 7,
      zone: 'eu-west-1a',
      ttl_seconds: 120,
    });
    await unary(coordinator, 'Begin', {
      txn_id: TXN,
      participants: ['ledger', 'wallet'],
      timeout_ms: 600_000,
    });

    // The truth, read back over gRPC.
    const described: Wire = await unary(locks, 'Describe', { name: Buffer.from(LOCK_NAME) });
    expect(described.holder.owner).toBe(LOCK_OWNER);
    expect(described.holder.fencing_token).toBe(acquired.fencing_token);
    const instance: Wire = (await unary(membership, 'Get', { service: SERVICE, instance_id: INSTANCE }))
      .instance;
    const txn: Wire = (await unary(coordinator, 'Get', { txn_id: TXN })).record;
    expect(txn.participants).toEqual(['ledger', 'wallet']);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(err.message));
    page.on('requestfailed', (req) => consoleErrors.push(`request failed: ${req.url()}`));
    await page.goto(`${follower.metricsUrl}/dashboard`);

    // Header and members.
    await expect
      .poll(() => page.locator('[data-testid=leader-name]').textContent(), { timeout: 20_000 })
      .toBe(leader);
    await expect
      .poll(() => page.locator('table[data-testid=members] [data-health=healthy]').count(), {
        timeout: 20_000,
      })
      .toBe(3);
    const leaderRow = page.locator(`tr[data-member="${leader}"]`);
    await expect.poll(() => leaderRow.locator('.pill').textContent()).toBe('leader');

    // Services.
    await page.getByRole('tab', { name: 'Services' }).click();
    const instanceRow = page.locator(`tr[data-instance="${INSTANCE}"]`);
    await expect.poll(() => instanceRow.count(), { timeout: 10_000 }).toBe(1);
    const instanceText = await instanceRow.innerText();
    expect(instanceText).toContain(instance.address);
    expect(instanceText).toContain('SERVING');
    expect(instanceText).toContain(String(instance.weight));
    expect(await page.locator('#tab-services h2').first().innerText()).toContain(SERVICE);

    // Locks: the holder and token as Describe gives them, the markup shown as text.
    await page.getByRole('tab', { name: 'Locks' }).click();
    const lockRow = page.locator('tr[data-lock]').filter({ hasText: 'worker-7' });
    await expect.poll(() => lockRow.count(), { timeout: 10_000 }).toBe(1);
    expect(await lockRow.getAttribute('data-lock')).toBe(LOCK_NAME);
    expect(await lockRow.locator('[data-field=holder]').textContent()).toBe(described.holder.owner);
    expect(await lockRow.locator('[data-field=fencing-token]').textContent()).toBe(
      String(described.holder.fencing_token),
    );
    expect(await lockRow.locator('td').first().textContent()).toBe(LOCK_NAME);

    // Transactions: the one that is preparing.
    await page.getByRole('tab', { name: 'Transactions' }).click();
    const txnRow = page.locator('table[data-testid=txn-in-flight] tr[data-txn]');
    await expect.poll(() => txnRow.count(), { timeout: 10_000 }).toBe(1);
    expect(await txnRow.getAttribute('data-txn')).toBe(txn.txn_id);
    const txnText = await txnRow.innerText();
    for (const p of txn.participants as string[]) expect(txnText).toContain(p);

    // Traffic: three charts drawn as inline SVG.
    await page.getByRole('tab', { name: 'Traffic' }).click();
    await expect.poll(() => page.locator('#tab-traffic svg').count(), { timeout: 10_000 }).toBe(3);

    // Nothing was injected: no <img>, <i> or <b> elements came from user strings.
    expect(await page.locator('main img, main i, main b').count()).toBe(0);
    expect(
      await page.evaluate(() => (globalThis as unknown as { __injected?: number }).__injected),
    ).toBeUndefined();
    expect(consoleErrors).toEqual([]);
  }, 120_000);
});
