import { randomUUID } from 'node:crypto';
import functions from '@azure/functions';
import '../../functions/link-pending.js';
import { registrations, type TimerRegistration } from '../../functions/registry.js';

const { InvocationContext } = functions;

/** One tick of the five-minute linking timer (functions/link-pending.ts), on the running host's services. */
export async function linkPendingTick(): Promise<void> {
  const timer = registrations().find((r): r is TimerRegistration => r.kind === 'timer' && r.name === 'linkPending')!;
  const context = new InvocationContext({ invocationId: randomUUID(), functionName: 'linkPending' });
  await timer.handler({ isPastDue: false, scheduleStatus: undefined } as never, context);
}
