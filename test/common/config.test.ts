/**
 * Proves the server configuration: etcd's flag names parse to typed values with units,
 * environment variables and a YAML config file fill in what flags do not say (flags win),
 * and every invalid value is refused with an error naming the setting; the TLS flags follow
 * etcd's rules (https:// needs a certificate and key, TLS files next to http:// only warn);
 * --listen-metrics-urls takes http:// URLs only.
 */
import { describe, expect, test } from 'vitest';
import { loadServerConfig, tlsWarnings } from '../../src/common/config.js';
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

  test('--snapshot-log-bytes bounds the log by bytes (64 MiB unless given) and must be positive', () => {
    const base = ['--name=n1', '--data-dir=/tmp/d'];
    expect(loadServerConfig({ argv: base, env: {}, readFile: noFile }).snapshotLogBytes).toBe(
      64 * 1024 * 1024,
    );
    const cfg = loadServerConfig({
      argv: [...base, '--snapshot-log-bytes=1048576'],
      env: {},
      readFile: noFile,
    });
    expect(cfg.snapshotLogBytes).toBe(1_048_576);
    expect(() =>
      loadServerConfig({ argv: [...base, '--snapshot-log-bytes=0'], env: {}, readFile: noFile }),
    ).toThrow(/snapshot-log-bytes.*not a positive integer/);
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

  describe('TLS flags', () => {
    const https = [
      '--listen-client-urls=https://127.0.0.1:4001',
      '--listen-peer-urls=https://127.0.0.1:4002',
    ];
    const files = [
      '--cert-file=/pki/n1.pem',
      '--key-file=/pki/n1-key.pem',
      '--peer-cert-file=/pki/n1-peer.pem',
      '--peer-key-file=/pki/n1-peer-key.pem',
    ];

    test('etcd flags parse, and a bare boolean flag means true', () => {
      const cfg = loadServerConfig({
        argv: [
          ...https,
          ...files,
          '--trusted-ca-file=/pki/ca.pem',
          '--client-cert-auth',
          '--peer-trusted-ca-file=/pki/peer-ca.pem',
          '--peer-client-cert-auth=false',
        ],
        env: {},
        readFile: noFile,
      });
      expect(cfg).toMatchObject({
        certFile: '/pki/n1.pem',
        keyFile: '/pki/n1-key.pem',
        trustedCaFile: '/pki/ca.pem',
        clientCertAuth: true,
        peerCertFile: '/pki/n1-peer.pem',
        peerKeyFile: '/pki/n1-peer-key.pem',
        peerTrustedCaFile: '/pki/peer-ca.pem',
        peerClientCertAuth: false,
        advertiseClientUrls: ['https://127.0.0.1:4001'],
        initialAdvertisePeerUrls: ['https://127.0.0.1:4002'],
      });
    });

    test('without TLS flags nothing is set and client-cert-auth is off', () => {
      const cfg = loadServerConfig({ argv: [], env: {}, readFile: noFile });
      expect(cfg.certFile).toBeUndefined();
      expect(cfg.peerTrustedCaFile).toBeUndefined();
      expect(cfg.clientCertAuth).toBe(false);
      expect(cfg.peerClientCertAuth).toBe(false);
      expect(tlsWarnings(cfg)).toEqual([]);
    });

    test('a boolean flag still takes a separate true/false value', () => {
      const argv = ['--client-cert-auth', 'false', '--lease-reads', 'false'];
      const cfg = loadServerConfig({ argv, env: {}, readFile: noFile });
      expect(cfg.clientCertAuth).toBe(false);
      expect(cfg.leaseReads).toBe(false);
      // Lease reads are on unless turned off; the old experimental name still turns them off.
      expect(loadServerConfig({ argv: [], env: {}, readFile: noFile }).leaseReads).toBe(true);
      const old = ['--experimental-lease-reads', 'false'];
      expect(loadServerConfig({ argv: old, env: {}, readFile: noFile }).leaseReads).toBe(false);
    });

    test('CAIRN_* environment variables set them', () => {
      const cfg = loadServerConfig({
        argv: https,
        env: {
          CAIRN_CERT_FILE: '/e/c.pem',
          CAIRN_KEY_FILE: '/e/k.pem',
          CAIRN_TRUSTED_CA_FILE: '/e/ca.pem',
          CAIRN_CLIENT_CERT_AUTH: 'true',
          CAIRN_PEER_CERT_FILE: '/e/pc.pem',
          CAIRN_PEER_KEY_FILE: '/e/pk.pem',
          CAIRN_PEER_TRUSTED_CA_FILE: '/e/pca.pem',
          CAIRN_PEER_CLIENT_CERT_AUTH: 'true',
        },
        readFile: noFile,
      });
      expect(cfg).toMatchObject({
        certFile: '/e/c.pem',
        keyFile: '/e/k.pem',
        trustedCaFile: '/e/ca.pem',
        clientCertAuth: true,
        peerCertFile: '/e/pc.pem',
        peerKeyFile: '/e/pk.pem',
        peerTrustedCaFile: '/e/pca.pem',
        peerClientCertAuth: true,
      });
    });

    test("the config file takes the flag names, and etcd's transport-security sections", () => {
      const flat = loadServerConfig({
        argv: ['--config-file=c.yml'],
        env: {},
        readFile: () =>
          'listen-client-urls: https://127.0.0.1:4001\ncert-file: /f/c.pem\nkey-file: /f/k.pem\nclient-cert-auth: true\n',
      });
      expect(flat).toMatchObject({ certFile: '/f/c.pem', keyFile: '/f/k.pem', clientCertAuth: true });
      const nested = loadServerConfig({
        argv: ['--config-file=c.yml'],
        env: {},
        readFile: () =>
          [
            'listen-client-urls: https://127.0.0.1:4001',
            'listen-peer-urls: https://127.0.0.1:4002',
            'client-transport-security:',
            '  cert-file: /f/c.pem',
            '  key-file: /f/k.pem',
            '  trusted-ca-file: /f/ca.pem',
            '  client-cert-auth: true',
            'peer-transport-security:',
            '  cert-file: /f/pc.pem',
            '  key-file: /f/pk.pem',
            '  trusted-ca-file: /f/pca.pem',
            '  client-cert-auth: true',
            '',
          ].join('\n'),
      });
      expect(nested).toMatchObject({
        certFile: '/f/c.pem',
        keyFile: '/f/k.pem',
        trustedCaFile: '/f/ca.pem',
        clientCertAuth: true,
        peerCertFile: '/f/pc.pem',
        peerKeyFile: '/f/pk.pem',
        peerTrustedCaFile: '/f/pca.pem',
        peerClientCertAuth: true,
      });
      expect(() =>
        loadServerConfig({
          argv: ['--config-file=c.yml'],
          env: {},
          readFile: () => 'client-transport-security:\n  auto-tls: true\n',
        }),
      ).toThrow(/unknown setting "client-transport-security.auto-tls"/);
    });

    test.each([
      [
        ['--listen-client-urls=https://127.0.0.1:4001'],
        /--listen-client-urls: TLS key\/cert \(--cert-file, --key-file\) must be provided for client url https:\/\/127.0.0.1:4001 with HTTPS scheme/,
      ],
      [
        ['--advertise-client-urls=https://127.0.0.1:4001'],
        /--advertise-client-urls: TLS key\/cert \(--cert-file/,
      ],
      [
        ['--listen-peer-urls=https://127.0.0.1:4002'],
        /--listen-peer-urls: TLS key\/cert \(--peer-cert-file, --peer-key-file\) must be provided for peer url/,
      ],
      [
        ['--initial-advertise-peer-urls=https://127.0.0.1:4002', '--listen-peer-urls=http://127.0.0.1:4002'],
        /--initial-advertise-peer-urls: TLS key\/cert \(--peer-cert-file/,
      ],
      // Client TLS files do not serve peers, and the other way round.
      [
        ['--listen-peer-urls=https://127.0.0.1:4002', '--cert-file=/c', '--key-file=/k'],
        /--listen-peer-urls/,
      ],
      [['--cert-file=/c'], /--cert-file: needs --key-file as well/],
      [['--key-file=/k'], /--key-file: needs --cert-file as well/],
      [['--peer-cert-file=/c'], /--peer-cert-file: needs --peer-key-file as well/],
      [['--client-cert-auth=yes'], /--client-cert-auth: must be true or false/],
      [['--cert-file='], /--cert-file: must not be empty/],
    ])('%j is refused', (argv, message) => {
      expect(() => loadServerConfig({ argv, env: {}, readFile: noFile })).toThrow(message);
    });

    test("TLS settings next to http:// URLs start with etcd's warnings, https:// ones without", () => {
      const plain = loadServerConfig({
        argv: [...files, '--client-cert-auth', '--peer-client-cert-auth'],
        env: {},
        readFile: noFile,
      });
      expect(tlsWarnings(plain)).toEqual([
        {
          url: 'http://127.0.0.1:2379',
          message: 'scheme is HTTP while key and cert files are present; ignoring key and cert files',
        },
        {
          url: 'http://127.0.0.1:2379',
          message:
            'scheme is HTTP while --client-cert-auth is enabled; ignoring client cert auth for this URL',
        },
        {
          url: 'http://127.0.0.1:2380',
          message: 'scheme is HTTP while key and cert files are present; ignoring key and cert files',
        },
        {
          url: 'http://127.0.0.1:2380',
          message:
            'scheme is HTTP while --peer-client-cert-auth is enabled; ignoring client cert auth for this URL',
        },
      ]);
      const secure = loadServerConfig({
        argv: [...https, ...files, '--client-cert-auth', '--peer-client-cert-auth'],
        env: {},
        readFile: noFile,
      });
      expect(tlsWarnings(secure)).toEqual([]);
    });
  });

  test('--listen-metrics-urls takes comma-separated http URLs, and refuses https', () => {
    const base = ['--name=n1', '--data-dir=/tmp/d'];
    const cfg = loadServerConfig({
      argv: [...base, '--listen-metrics-urls=http://127.0.0.1:2381,http://127.0.0.1:2391'],
      env: {},
      readFile: noFile,
    });
    expect(cfg.listenMetricsUrls).toEqual(['http://127.0.0.1:2381', 'http://127.0.0.1:2391']);
    expect(loadServerConfig({ argv: base, env: {}, readFile: noFile }).listenMetricsUrls).toBeUndefined();
    expect(() =>
      loadServerConfig({
        argv: [...base, '--listen-metrics-urls=https://127.0.0.1:2381'],
        env: {},
        readFile: noFile,
      }),
    ).toThrow(/--listen-metrics-urls: .*only http:\/\/ is served/);
  });
});
