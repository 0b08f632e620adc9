/**
 * The backend API key: read from the mounted Secret file and re-read whenever the file
 * changes (Kubernetes updates Secret volumes by swapping a symlink, so the stat of the
 * resolved file changes), falling back to an environment value. The key is held only
 * here and in the Authorization header; it is never logged.
 */
import { readFile, stat } from 'node:fs/promises';

export class ApiKeySource {
  readonly file: string | undefined;
  readonly fallback: string | undefined;
  #stamp = '';
  #key: string | undefined;

  constructor(file: string | undefined, fallback: string | undefined) {
    this.file = file;
    this.fallback = fallback === '' ? undefined : fallback;
  }

  /** The current key; stats the file on each call (cheap) and reads it only when it changed. */
  async get(): Promise<string | undefined> {
    if (this.file !== undefined) {
      try {
        const st = await stat(this.file);
        const stamp = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
        if (stamp !== this.#stamp) {
          const key = (await readFile(this.file, 'utf8')).trim();
          this.#key = key === '' ? undefined : key;
          this.#stamp = stamp;
        }
        if (this.#key !== undefined) return this.#key;
      } catch {
        // no file (yet): use the fallback, try again next time
        this.#stamp = '';
        this.#key = undefined;
      }
    }
    return this.fallback;
  }

  /** Forces a re-read on the next get (after the backend said 401/403). */
  invalidate(): void {
    this.#stamp = '';
  }
}
