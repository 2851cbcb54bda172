/**
 * Proves the server configuration: etcd's flag names parse to typed values with units,
 * environment variables and a YAML config file fill in what flags do not say (flags win),
 * and every invalid value is refused with an error naming the setting.
 */
import { describe, expect, test } from 'vitest';
import { loadServerConfig } from '../../src/common/config.js';
import { clusterIdOf, memberIdOf } from '../../src/common/ids.js';

const noFile = () => {
  throw new Error('no file');
};

describe('server config', () => {
  test('etcd flags parse into typed settings', () => {
    const cfg = loadServerConfig({
      argv: [
        '--name=n1',
        '--data-dir=/tmp/d',
        '--listen-client-urls=http://127.0.0.1:4001',
        '--listen-peer-urls=http://127.0.0.1:4002',
        '--initial-cluster=n1=http://127.0.0.1:4002,n2=http://127.0.0.1:5002',
        '--heartbeat-interval=50',
        '--election-timeout=500',
        '--max-request-bytes=2048',
      ],
      env: {},
      readFile: noFile,
    });
    expect(cfg).toMatchObject({
      name: 'n1',
      dataDir: '/tmp/d',
      listenClientUrls: ['http://127.0.0.1:4001'],
      advertiseClientUrls: ['http://127.0.0.1:4001'],
      heartbeatIntervalMs: 50,
      electionTimeoutMs: 500,
      maxRequestBytes: 2048,
      initialClusterState: 'new',
    });
    expect(cfg.initialCluster).toEqual([
      { name: 'n1', peerUrls: ['http://127.0.0.1:4002'] },
      { name: 'n2', peerUrls: ['http://127.0.0.1:5002'] },
    ]);
  });

  test('flags override environment, which overrides the config file', () => {
    const cfg = loadServerConfig({
      argv: ['--config-file=/etc/cairn.yml', '--snapshot-count=7'],
      env: { CAIRN_SNAPSHOT_COUNT: '8', CAIRN_NAME: 'from-env', CAIRN_ELECTION_TIMEOUT: '2000' },
      readFile: () => 'name: from-file\nsnapshot-count: 9\nheartbeat-interval: 200\n',
    });
    expect(cfg.snapshotCount).toBe(7);
    expect(cfg.name).toBe('from-env');
    expect(cfg.heartbeatIntervalMs).toBe(200);
    expect(cfg.electionTimeoutMs).toBe(2000);
  });

  test.each([
    [['--heartbeat-interval=abc'], /--heartbeat-interval/],
    [['--listen-client-urls=ftp://x:1'], /--listen-client-urls/],
    [['--listen-client-urls=http://x'], /explicit port/],
    [['--initial-cluster-state=maybe'], /--initial-cluster-state/],
    [['--election-timeout=100', '--heartbeat-interval=100'], /at least 5 times/],
    [['--name=n9', '--initial-cluster=n1=http://127.0.0.1:1'], /does not contain/],
    [['--no-such-flag=1'], /no-such-flag/],
  ])('%j is refused', (argv, message) => {
    expect(() => loadServerConfig({ argv, env: {}, readFile: noFile })).toThrow(message);
  });

  test('unknown keys in the config file are refused', () => {
    expect(() =>
      loadServerConfig({ argv: ['--config-file=x'], env: {}, readFile: () => 'nmae: typo\n' }),
    ).toThrow(/unknown setting "nmae"/);
  });

  test('member and cluster ids are stable, distinct and safe integers', () => {
    const a = memberIdOf(['http://127.0.0.1:2380'], 't');
    const b = memberIdOf(['http://127.0.0.1:22380'], 't');
    expect(a).toBe(memberIdOf(['http://127.0.0.1:2380'], 't'));
    expect(a).not.toBe(b);
    expect(a).not.toBe(memberIdOf(['http://127.0.0.1:2380'], 'other-token'));
    for (const id of [a, b, clusterIdOf([a, b], 't')]) {
      expect(Number.isSafeInteger(id)).toBe(true);
      expect(id).toBeGreaterThan(0);
    }
    expect(clusterIdOf([a, b], 't')).toBe(clusterIdOf([b, a], 't'));
  });
});
