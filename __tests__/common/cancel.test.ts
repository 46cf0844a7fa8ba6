import { abortable, anySignal, CancelledError, sleep, throwIfCancelled } from '../../src/common/cancel.js';

describe('cancellation helpers', () => {
  it('abortable settles like the work until the signal aborts, then rejects at once with what was interrupted', async () => {
    const controller = new AbortController();
    await expect(abortable(Promise.resolve(7), controller.signal, 'x')).resolves.toBe(7);
    await expect(abortable(Promise.reject(new Error('boom')), controller.signal, 'x')).rejects.toThrow('boom');
    const never = new Promise<number>(() => undefined);
    const pending = abortable(never, controller.signal, 'downloading thing');
    controller.abort();
    await expect(pending).rejects.toEqual(new CancelledError('downloading thing'));
    await expect(pending).rejects.toThrow('cancelled while downloading thing');
    // Already aborted: no waiting at all, and the work's own failure is not left unhandled.
    await expect(abortable(Promise.reject(new Error('late')), controller.signal, 'y')).rejects.toBeInstanceOf(CancelledError);
  });

  it('sleep ends early on abort; throwIfCancelled throws only once aborted', async () => {
    const controller = new AbortController();
    const long = sleep(600_000, controller.signal, 'waiting for the daemon');
    throwIfCancelled(controller.signal, 'nothing');
    controller.abort();
    await expect(long).rejects.toThrow('cancelled while waiting for the daemon');
    expect(() => throwIfCancelled(controller.signal, 'starting')).toThrow(CancelledError);
    await expect(sleep(1)).resolves.toBeUndefined();
  });

  it('anySignal aborts with either input', () => {
    const a = new AbortController();
    const b = new AbortController();
    expect(anySignal(undefined, a.signal)).toBe(a.signal);
    const both = anySignal(a.signal, b.signal)!;
    expect(both.aborted).toBe(false);
    b.abort();
    expect(both.aborted).toBe(true);
  });
});
