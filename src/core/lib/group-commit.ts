/**
 * Group commit: items submitted while a group of their lane is being settled wait and are
 * settled together as the next group (at most `maxGroup` of them, in arrival order). An item
 * that finds its lane idle starts a group of one at once, so nothing waits on a timer: the
 * collection window is exactly the time the group before took, and at low load every item is a
 * group of its own.
 *
 * Lanes are objects (a database pool, say): items of different lanes are never grouped, and a
 * lane is forgotten as soon as it is idle.
 */
export interface GroupCommit<T, R> {
  submit(lane: object, item: T): Promise<R>;
}

/**
 * One item's result: settled with its group, or `later`, a promise of its own that the lane does
 * not wait for (an item the group could not settle without waiting on something else).
 */
export type GroupResult<R> = PromiseSettledResult<R> | { status: "later"; result: Promise<R> };

export interface GroupCommitOptions<T, R> {
  maxGroup: number;
  /**
   * Settles one group: one result per item, in the items' order. The lane takes its next group
   * when this resolves. It must not throw (a throw rejects every item of the group with that
   * error).
   */
  settle(items: T[]): Promise<GroupResult<R>[]>;
}

interface Waiting<T, R> {
  item: T;
  resolve(value: R): void;
  reject(reason: unknown): void;
}

export function createGroupCommit<T, R>(options: GroupCommitOptions<T, R>): GroupCommit<T, R> {
  const queues = new Map<object, Waiting<T, R>[]>();

  async function drain(lane: object, queue: Waiting<T, R>[]): Promise<void> {
    while (queue.length > 0) {
      const group = queue.splice(0, options.maxGroup);
      let settled: GroupResult<R>[];
      try {
        settled = await options.settle(group.map((waiting) => waiting.item));
      } catch (error) {
        settled = group.map(() => ({ status: "rejected", reason: error }));
      }
      group.forEach((waiting, i) => {
        const outcome = settled[i];
        if (outcome?.status === "fulfilled") waiting.resolve(outcome.value);
        else if (outcome?.status === "later") outcome.result.then(waiting.resolve, waiting.reject);
        else waiting.reject(outcome ? outcome.reason : new Error("group settled without it"));
      });
    }
    queues.delete(lane);
  }

  return {
    submit(lane, item) {
      return new Promise<R>((resolve, reject) => {
        const queue = queues.get(lane);
        if (queue) {
          queue.push({ item, resolve, reject });
          return;
        }
        const started = [{ item, resolve, reject }];
        queues.set(lane, started);
        void drain(lane, started);
      });
    },
  };
}
