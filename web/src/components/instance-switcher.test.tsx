import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configureApi, type InstanceView } from '../api/index.js';
import { keys } from '../state/query-keys.js';
import { instanceView } from '../testing/fixtures.js';
import { InstanceSwitcher, shortcutTarget } from './instance-switcher.js';

const base = { ctrlKey: false, metaKey: false, altKey: false, shiftKey: false };

function inst(id: string, active = false): InstanceView {
  return instanceView(id, {
    name: `box-${id}`,
    active,
    health: id === 'b' ? 'unhealthy' : 'healthy',
  });
}

describe('shortcutTarget', () => {
  const list = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
  it('maps Ctrl/Cmd+1..9 to the n-th instance and ignores everything else', () => {
    expect(shortcutTarget({ ...base, key: '2', ctrlKey: true }, list)).toBe('b');
    expect(shortcutTarget({ ...base, key: '1', metaKey: true }, list)).toBe('a');
    expect(shortcutTarget({ ...base, key: '4', ctrlKey: true }, list)).toBeNull();
    expect(shortcutTarget({ ...base, key: '2' }, list)).toBeNull();
    expect(shortcutTarget({ ...base, key: '2', ctrlKey: true, shiftKey: true }, list)).toBeNull();
    expect(shortcutTarget({ ...base, key: '0', ctrlKey: true }, list)).toBeNull();
  });
});

describe('InstanceSwitcher', () => {
  let server: Server;
  let status = 200;
  const puts: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        puts.push(`${req.method} ${req.url} ${body}`);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(
          status === 200
            ? '{"active":null}'
            : '{"error":{"code":"instance_not_found","message":"no instance \'b\'"}}',
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    configureApi({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
  afterAll(async () => {
    configureApi({ baseUrl: '' });
    await new Promise((r) => server.close(r));
  });
  afterEach(() => {
    cleanup();
    puts.length = 0;
    status = 200;
  });

  function setup() {
    const qc = new QueryClient();
    const list = [inst('a', true), inst('b'), inst('c')];
    qc.setQueryData(keys.instances, list);
    render(
      <QueryClientProvider client={qc}>
        <InstanceSwitcher instances={list} health={{}} />
      </QueryClientProvider>,
    );
    return qc;
  }

  async function settle(pred: () => boolean) {
    for (let i = 0; i < 100 && !pred(); i++) {
      await act(() => new Promise((r) => setTimeout(r, 10)));
    }
  }

  it('switches with Ctrl+2 from anywhere: the cache at once, the gateway by PUT', async () => {
    const qc = setup();
    expect(screen.getByTestId('active-instance').textContent).toContain('box-a');
    fireEvent.keyDown(window, { key: '2', ctrlKey: true });
    const active = () => qc.getQueryData<InstanceView[]>(keys.instances)?.find((i) => i.active)?.id;
    expect(active()).toBe('b');
    await settle(() => puts.length > 0);
    expect(puts).toEqual(['PUT /api/v1/instances/active {"id":"b"}']);
  });

  it('undoes the switch when the gateway refuses it', async () => {
    status = 404;
    const qc = setup();
    fireEvent.keyDown(window, { key: '3', metaKey: true });
    const active = () => qc.getQueryData<InstanceView[]>(keys.instances)?.find((i) => i.active)?.id;
    await settle(() => puts.length > 0 && active() === 'a');
    expect(active()).toBe('a');
  });

  it('lists every instance with its health, marks the current one, and is keyboard operable', async () => {
    const qc = setup();
    fireEvent.click(screen.getByTestId('active-instance'));
    const options = screen.getAllByRole('option');
    expect(options.map((o) => o.getAttribute('aria-selected'))).toEqual(['true', 'false', 'false']);
    expect(screen.getAllByRole('img', { name: 'unhealthy' })).toHaveLength(1);
    expect(document.activeElement).toBe(options[0]);
    fireEvent.keyDown(options[0]!, { key: 'ArrowDown' });
    expect(document.activeElement).toBe(options[1]);
    fireEvent.keyDown(options[1]!, { key: 'Enter' });
    expect(screen.queryByRole('listbox')).toBeNull();
    expect(document.activeElement).toBe(screen.getByTestId('active-instance'));
    expect(qc.getQueryData<InstanceView[]>(keys.instances)?.find((i) => i.active)?.id).toBe('b');
    await settle(() => puts.length > 0);
  });
});
