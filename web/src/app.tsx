import { QueryClient, QueryClientProvider, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { ApiRequestError, getApiKey, onUnauthorized, setApiKey } from './api/index.js';
import { ApiKeyDialog } from './components/api-key-dialog.js';
import { InstanceSwitcher } from './components/instance-switcher.js';
import { Link } from './components/link.js';
import { Toasts } from './components/toasts.js';
import { connectLiveEvents, streamState } from './state/live-events.js';
import { useHealthMap, useInstances } from './state/queries.js';
import { matchRoute, useLocation } from './state/router.js';
import { useTheme } from './state/theme.js';
import { InstancesPage } from './views/instances/instances-page.js';
import { JobPage } from './views/jobs/job-page.js';
import { JobsPage } from './views/jobs/jobs-page.js';
import { SubmitJobPage } from './views/jobs/submit-job.js';
import { OverviewPage } from './views/overview/overview-page.js';

/** The query client of the app: no refetch storms, errors other than 401 retried briefly. */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        refetchOnWindowFocus: false,
        retry: (n, e) =>
          !(e instanceof ApiRequestError && e.status >= 400 && e.status < 500) && n < 2,
      },
    },
  });
}

function LiveIndicator() {
  const state = useSyncExternalStore(streamState.subscribe, streamState.get);
  const text =
    state === 'open'
      ? 'Live'
      : state === 'connecting'
        ? 'Connecting…'
        : state === 'unauthorized'
          ? 'Live updates need an API key'
          : state === 'unavailable'
            ? 'No live events on this gateway'
            : 'Reconnecting…';
  return (
    <span className={`live live-${state}`} role="status" aria-live="polite" title={text}>
      <span className="dot" aria-hidden="true" />
      <span className="live-text">{text}</span>
    </span>
  );
}

function Shell() {
  const qc = useQueryClient();
  const { theme, toggle } = useTheme();
  const { path } = useLocation();
  const route = matchRoute(path);
  const instances = useInstances();
  const health = useHealthMap();
  const [askKey, setAskKey] = useState(false);
  const [rejected, setRejected] = useState(false);

  useEffect(() => connectLiveEvents(qc), [qc]);
  // After a navigation, focus goes to the new page (screen readers announce it; Tab starts there).
  const page0 = route.page;
  const shownPage = useRef(page0);
  useEffect(() => {
    if (shownPage.current === page0) return;
    shownPage.current = page0;
    const heading = document.querySelector<HTMLElement>('main h1');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }, [page0]);
  useEffect(
    () =>
      onUnauthorized(() => {
        setRejected(getApiKey() !== null);
        setAskKey(true);
      }),
    [],
  );

  const nav: Array<[string, string, boolean]> = [
    ['/', 'Overview', route.page === 'overview'],
    ['/instances', 'Instances', route.page === 'instances'],
    ['/jobs', 'Jobs', route.page === 'jobs' || route.page === 'job' || route.page === 'submit'],
  ];

  let page: ReactNode;
  switch (route.page) {
    case 'overview':
      page = <OverviewPage />;
      break;
    case 'instances':
      page = <InstancesPage selectedId={route.id} />;
      break;
    case 'jobs':
      page = <JobsPage />;
      break;
    case 'job':
      page = <JobPage id={route.id} />;
      break;
    case 'submit':
      page = <SubmitJobPage />;
      break;
    default:
      page = (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page at <code>{path}</code>. <Link to="/">Go to the overview</Link>.
          </p>
        </section>
      );
  }

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">comfy-cluster</span>
        <nav aria-label="Main">
          {nav.map(([to, label, current]) => (
            <Link key={to} to={to} current={current} className="navlink">
              {label}
            </Link>
          ))}
        </nav>
        <div className="topbar-right">
          <LiveIndicator />
          <InstanceSwitcher instances={instances.data ?? []} health={health} />
          <button
            type="button"
            className="icon"
            onClick={toggle}
            aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
            title="Toggle theme"
          >
            {theme === 'dark' ? '☀' : '☾'}
          </button>
          {getApiKey() && (
            <button
              type="button"
              className="link small"
              onClick={() => {
                setApiKey(null);
                void qc.invalidateQueries();
              }}
            >
              Forget key
            </button>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
      {askKey && (
        <ApiKeyDialog
          rejected={rejected}
          onCancel={() => setAskKey(false)}
          onDone={() => {
            setAskKey(false);
            void qc.invalidateQueries();
          }}
        />
      )}
      <Toasts />
    </>
  );
}

/** The dashboard. */
export function App({ client }: { client?: QueryClient }) {
  const [qc] = useState(() => client ?? createQueryClient());
  return (
    <QueryClientProvider client={qc}>
      <Shell />
    </QueryClientProvider>
  );
}
