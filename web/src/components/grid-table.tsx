import type { ReactNode } from 'react';

// Windowed tables are built from divs (rows are absolutely positioned, which native table rows
// cannot be), so the table semantics come from ARIA roles, set here once.

/** A table whose body may be a VirtualList of {@link Tr} rows. */
export function TableBox(props: {
  label: string;
  rowCount: number;
  className?: string;
  children: ReactNode;
}) {
  return (
    // biome-ignore lint/a11y/useSemanticElements: windowed rows cannot be native <tr> elements
    <div
      className={`table ${props.className ?? ''}`}
      role="table"
      aria-label={props.label}
      aria-rowcount={props.rowCount}
    >
      {props.children}
    </div>
  );
}

/** A row; `header` for the column header row. */
export function Tr(props: {
  header?: boolean;
  children: ReactNode;
  data?: Record<`data-${string}`, string>;
}) {
  return (
    // biome-ignore lint/a11y/useSemanticElements: see TableBox
    // biome-ignore lint/a11y/useFocusableInteractive: rows are not interactive; their cells' controls are
    <div className={`tr ${props.header ? 'th' : ''}`} role="row" {...props.data}>
      {props.children}
    </div>
  );
}

/** A column header cell. */
export function Th({ children }: { children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/useSemanticElements: see TableBox
    // biome-ignore lint/a11y/useFocusableInteractive: headers are not interactive
    <span role="columnheader">{children}</span>
  );
}

/** A cell. */
export function Td({ children, className }: { children?: ReactNode; className?: string }) {
  return (
    // biome-ignore lint/a11y/useSemanticElements: see TableBox
    <span role="cell" className={className}>
      {children}
    </span>
  );
}
