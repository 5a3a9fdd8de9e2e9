import type { MouseEvent, ReactNode } from 'react';
import { navigate } from '../state/router.js';

/** A link that navigates without a reload (middle-click and modifiers open a tab as usual). */
export function Link(props: {
  to: string;
  children: ReactNode;
  className?: string;
  current?: boolean;
  'aria-label'?: string;
}) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.to);
  };
  return (
    <a
      href={props.to}
      onClick={onClick}
      className={props.className}
      aria-current={props.current ? 'page' : undefined}
      aria-label={props['aria-label']}
    >
      {props.children}
    </a>
  );
}
