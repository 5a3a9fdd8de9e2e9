/**
 * Recording: http_api_prefix_origin.json — the status of 25 paths plain and /api-prefixed, the
 * Origin/Host check (403 for a foreign Origin when Host is loopback, any method), GET /ws without
 * Upgrade (400), and no gzip unless asked for at start-up.
 */
import { describe, expect, it } from 'vitest';
import {
  assertExchange,
  type ContractTarget,
  exchange,
  httpRequest,
  loadTranscript,
  recordedCall,
  SYSTEM_STATS_RULES,
  sharedTarget,
} from '../support/index.js';

const transcript = loadTranscript('http_api_prefix_origin');
const target = sharedTarget();

interface PrefixRow {
  path: string;
  status_plain: number;
  status_api_prefixed: number;
}

/** The recorder's server was 127.0.0.1:8188; here the Origin headers name this target. */
function originsFor(t: ContractTarget): Record<string, Record<string, string>> {
  const other = t.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
  return {
    'GET /queue with matching Origin': { Origin: `http://${t.hostname}:${t.port}` },
    'GET /queue with Origin=localhost while Host=127.0.0.1 -> 403': {
      Origin: `http://${other}:${t.port}`,
    },
  };
}

async function status(t: ContractTarget, pathAndQuery: string): Promise<number> {
  const [path = '', query] = pathAndQuery.split('?', 2);
  return (await httpRequest(t.url, { method: 'GET', path, query: query ?? null })).status;
}

describe('http_api_prefix_origin: /api mirror, origin check, misc as recorded', () => {
  for (const ex of transcript.exchanges) {
    it(ex.name, async () => {
      const t = target();
      const headers = originsFor(t)[ex.name] ?? {};
      const reply = await httpRequest(t.url, recordedCall(ex.request, { headers }));
      assertExchange(
        reply,
        ex,
        ex.request.path === '/system_stats' ? { rules: SYSTEM_STATS_RULES } : {},
      );
    });
  }

  it('serves the same paths plain and under /api as recorded', async () => {
    const t = target();
    const rows = transcript.api_prefix_table as PrefixRow[];
    const got: PrefixRow[] = [];
    for (const row of rows) {
      got.push({
        path: row.path,
        status_plain: await status(t, row.path),
        status_api_prefixed: await status(t, `/api${row.path}`),
      });
    }
    // Whether the user folder has saved workflows is a real server's state: 404 without, 200
    // with. Either way both paths must agree. (The emulator's user folder starts empty: 404.)
    const userdata = got.find((g) => g.path === '/userdata?dir=workflows');
    expect([200, 404]).toContain(userdata?.status_plain);
    const expected = rows.map((row) =>
      row.path === userdata?.path && !t.isEmulator
        ? {
            ...row,
            status_plain: userdata.status_plain,
            status_api_prefixed: userdata.status_plain,
          }
        : row,
    );
    expect(got).toEqual(expected);
  });

  it('knows every exchange it adapts', () => {
    for (const name of Object.keys(originsFor({ hostname: 'h', port: 1 } as ContractTarget))) {
      exchange(transcript, name);
    }
  });
});
