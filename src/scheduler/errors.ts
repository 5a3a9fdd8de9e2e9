/** Typed errors of the scheduler. */

/** A prompt the scheduler cannot read (not an object of nodes with a `class_type`). */
export class InvalidPromptError extends Error {
  override readonly name = 'InvalidPromptError';
  /** The node id at fault, when there is one. */
  readonly node_id: string | null;

  /**
   * @example
   * throw new InvalidPromptError('node "3" has no class_type', '3');
   */
  constructor(message: string, nodeId: string | null = null) {
    super(message);
    this.node_id = nodeId;
  }
}
