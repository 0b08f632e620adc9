/**
 * A TlsSource is where the webhook's HTTPS server gets its certificate from and learns
 * that it changed: the self-provisioned Secret, a cert-manager directory, or a fixed pair.
 */
export interface TlsMaterial {
  /** PEM serving certificate (chain). */
  cert: string;
  /** PEM private key. */
  key: string;
  /** PEM CA bundle that verifies `cert`, for the webhook configurations' caBundle. */
  ca?: string;
}

export interface TlsSource {
  current(): TlsMaterial;
  /** Called after every change, with the new material; returns an unsubscribe function. */
  onChange(listener: (material: TlsMaterial) => void): () => void;
}

/** A source whose material can be swapped by its owner; listeners run synchronously. */
export class MutableTlsSource implements TlsSource {
  #material: TlsMaterial;
  readonly #listeners = new Set<(m: TlsMaterial) => void>();

  constructor(material: TlsMaterial) {
    this.#material = material;
  }

  current(): TlsMaterial {
    return this.#material;
  }

  onChange(listener: (material: TlsMaterial) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  set(material: TlsMaterial): void {
    this.#material = material;
    for (const l of this.#listeners) l(material);
  }
}

export function staticTlsSource(material: TlsMaterial): TlsSource {
  return new MutableTlsSource(material);
}
