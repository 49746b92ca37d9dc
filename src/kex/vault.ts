/**
 * Where kex secrets (prekey seeds, session keys) live: in this instance's memory only.
 *
 * Why not the store, even wrapped under the master key: PostgreSQL never overwrites a row in place
 * (MVCC), and every row also goes to the WAL; a deleted row's bytes stay in the data directory for
 * an unbounded time. An attacker holding those bytes and the master key would unwrap a "deleted"
 * session key, so storage-based erasure cannot give forward secrecy (PROTOCOL.md §8).
 *
 * Sharing between instances: each instance holds an ephemeral X-Wing "grant key" (memory only;
 * its public half is in kex_instances) and rotates it every `grantKeySeconds`. An instance that
 * holds a secret encapsulates it to every other live instance's current grant key (a grant). A
 * receiving instance opens its grants into memory at the latest before wiping the grant key, so a
 * grant in the store becomes undecryptable once the recipient has rotated twice. The creating
 * instance never grants to itself: on a single instance, closing a session erases it at once.
 */
import type { CryptoBackend } from '../crypto/backend.ts';
import { concatBytes, constantTimeEqual, wipe } from '../crypto/bytes.ts';
import type { Store } from '../store/index.ts';
import { lp, PROTOCOL } from './protocol.ts';
import * as repo from './repo.ts';

/** How long `put` reuses the registry's list of live peers. */
const PEERS_TTL_MS = 1000;

interface GrantKey { keyId: string; seed: Uint8Array; publicKey: Uint8Array }
interface Held { secret: Uint8Array; expiresAt: number }

/** Dependencies of a {@link Vault}; `instanceId` names this instance in kex_instances. */
export interface VaultOptions {
  store: Store;
  backend: CryptoBackend;
  instanceId: string;
  /** Grant-key rotation period, seconds. */
  grantKeySeconds: number;
  /** An instance not seen for this long is not granted to. */
  staleSeconds: number;
  /**
   * HMAC key authenticating registry entries (instance id, grant key id, grant public key); every
   * instance of a deployment derives the same one from the master key. Grants go only to entries
   * that verify, so a database writer cannot register its own grant key.
   */
  registryKey: Uint8Array;
}

const grantAad = (secretId: string, keyId: string) => concatBytes(lp(`${PROTOCOL} grant`), lp(secretId), lp(keyId));
const registryEntry = (instanceId: string, keyId: string, publicKey: Uint8Array) =>
  concatBytes(lp(`${PROTOCOL} instance`), lp(instanceId), lp(keyId), publicKey);

/**
 * This instance's in-memory secret store, shared with peers through grants (see the module header).
 *
 * @example
 * const vault = new Vault({ store, backend, instanceId, grantKeySeconds: 600, staleSeconds: 30, registryKey });
 * await vault.register();
 * await vault.put('s:abc', keys, expiresAt);
 */
export class Vault {
  readonly instanceId: string;
  private readonly o: VaultOptions;
  private current: GrantKey;
  private previous: GrantKey | undefined;
  private rotatedAt = Date.now();
  private readonly held = new Map<string, Held>();
  /** (secret, peer) pairs already granted: a peer that opened its grant deleted it and needs no new one. */
  private readonly grantedOnce = new Set<string>();
  private peerCache: { at: number; rows: repo.InstanceRow[] } | undefined;

  constructor(o: VaultOptions) {
    this.o = o;
    this.instanceId = o.instanceId;
    this.current = this.newKey();
  }

  private newKey(): GrantKey {
    const kp = this.o.backend.keygen('X-Wing');
    return { keyId: crypto.randomUUID(), seed: kp.secretKey, publicKey: kp.publicKey };
  }

  private registryMac(instanceId: string, keyId: string, publicKey: Uint8Array): Uint8Array {
    return this.o.backend.hmac('SHA-256', this.o.registryKey, registryEntry(instanceId, keyId, publicKey));
  }

  /** Publishes (upserts) this instance's current grant public key with its registry MAC; doubles as the heartbeat. */
  async register(): Promise<void> {
    const { keyId, publicKey } = this.current;
    await repo.upsertInstance(this.o.store, this.instanceId, keyId, publicKey, this.registryMac(this.instanceId, keyId, publicKey));
  }

  /** Registry entries whose MAC verifies; the others are ignored (never granted to). */
  private authentic(instances: repo.InstanceRow[]): repo.InstanceRow[] {
    return instances.filter((i) => i.registry_mac !== null
      && constantTimeEqual(i.registry_mac, this.registryMac(i.instance_id, i.key_id, i.public_key)));
  }

  /** Ids of the secrets this instance holds (for the sweeper). */
  ids(prefix: string): string[] {
    return [...this.held.keys()].filter((k) => k.startsWith(prefix));
  }

  /** Holds a new secret (the caller's buffer is copied) and grants it to every other live instance. */
  async put(secretId: string, secret: Uint8Array, expiresAt: Date): Promise<void> {
    this.held.set(secretId, { secret: secret.slice(), expiresAt: expiresAt.getTime() });
    await this.grantTo(await this.peers(), [secretId]);
  }

  /**
   * The live peers, read from the registry at most once per PEERS_TTL_MS (a handshake then costs no
   * registry query). A peer that registers meanwhile is granted by the next `maintain` backfill, as
   * every newly joined peer is; a peer's rotated grant key still opens grants to its previous key.
   */
  private async peers(): Promise<repo.InstanceRow[]> {
    const now = Date.now();
    if (!this.peerCache || now - this.peerCache.at >= PEERS_TTL_MS) {
      this.peerCache = { at: now, rows: await repo.liveInstances(this.o.store, this.instanceId, this.o.staleSeconds) };
    }
    return this.peerCache.rows;
  }

  /** The secret, from memory or from a grant addressed to this instance; undefined if neither. */
  async get(secretId: string): Promise<Uint8Array | undefined> {
    const h = this.held.get(secretId);
    if (h) return h.expiresAt > Date.now() ? h.secret : (this.drop([secretId]), undefined);
    await this.openGrants([secretId]);
    return this.held.get(secretId)?.secret;
  }

  /** Whether the secret is held in memory now (no store read, no expiry check). */
  has(secretId: string): boolean {
    return this.held.has(secretId);
  }

  /** Wipes secrets from memory (their grants are deleted by the caller). */
  drop(secretIds: string[]): void {
    for (const id of secretIds) {
      const h = this.held.get(id);
      if (h) { wipe(h.secret); this.held.delete(id); }
    }
  }

  private async grantTo(instances: repo.InstanceRow[], secretIds: string[]): Promise<void> {
    const b = this.o.backend;
    for (const inst of this.authentic(instances)) {
      for (const secretId of secretIds) {
        const h = this.held.get(secretId);
        if (!h) continue;
        const { cipherText, sharedSecret } = b.encapsulate('X-Wing', inst.public_key);
        const aad = grantAad(secretId, inst.key_id);
        const kek = b.hkdf('SHA-256', sharedSecret, new Uint8Array(0), aad, 32);
        const sealed = b.aeadSeal('AES-256-GCM', kek, new Uint8Array(12), h.secret, aad);
        wipe(sharedSecret, kek);
        this.grantedOnce.add(`${secretId}\n${inst.instance_id}`);
        await repo.insertGrant(this.o.store, {
          secret_id: secretId, instance_id: inst.instance_id, instance_key_id: inst.key_id, ciphertext: cipherText, sealed, expires_at: new Date(h.expiresAt),
        });
      }
    }
  }

  /** Opens grants addressed to this instance (all of them when `secretIds` is null) into memory, then deletes them. */
  private async openGrants(secretIds: string[] | null): Promise<void> {
    const b = this.o.backend;
    const rows = await repo.grantsFor(this.o.store, this.instanceId, secretIds);
    const opened: string[] = [];
    for (const g of rows) {
      const key = g.instance_key_id === this.current.keyId ? this.current : g.instance_key_id === this.previous?.keyId ? this.previous : undefined;
      if (!key || this.held.has(g.secret_id) || g.expires_at.getTime() <= Date.now()) continue;
      let ss: Uint8Array | undefined;
      let kek: Uint8Array | undefined;
      try {
        ss = b.decapsulate('X-Wing', g.ciphertext, key.seed);
        const aad = grantAad(g.secret_id, g.instance_key_id);
        kek = b.hkdf('SHA-256', ss, new Uint8Array(0), aad, 32);
        const secret = b.aeadOpen('AES-256-GCM', kek, new Uint8Array(12), g.sealed, aad);
        this.held.set(g.secret_id, { secret, expiresAt: g.expires_at.getTime() });
        opened.push(g.secret_id);
      } catch {
        // A grant that does not open is useless to us; leave it to expire.
      } finally {
        wipe(ss, kek);
      }
    }
    await repo.deleteGrants(this.o.store, opened, this.instanceId);
  }

  /**
   * Rotates the grant key: opens every pending grant with the old keys, wipes the key before the
   * previous one, publishes the new public key. After two rotations no grant made before them opens.
   */
  async rotate(): Promise<void> {
    await this.openGrants(null);
    const old = this.previous;
    this.previous = this.current;
    this.current = this.newKey();
    if (old) wipe(old.seed);
    this.rotatedAt = Date.now();
    await this.register();
  }

  /** Periodic work: heartbeat, grant key rotation, backfill grants to new instances, expiry. */
  async maintain(): Promise<void> {
    const now = Date.now();
    for (const [id, h] of this.held) if (h.expiresAt <= now) this.drop([id]);
    if (now - this.rotatedAt >= this.o.grantKeySeconds * 1000) await this.rotate();
    else await this.register();
    await this.openGrants(null);
    // Backfill: instances that joined after a secret was created have no grant for it yet.
    const ids = [...this.held.keys()];
    if (ids.length === 0) return;
    this.peerCache = undefined;
    const others = await this.peers();
    if (others.length === 0) return;
    const have = new Set((await repo.existingGrants(this.o.store, ids)).map((g) => `${g.secret_id}\n${g.instance_id}`));
    for (const inst of others) {
      const missing = ids.filter((id) => !have.has(`${id}\n${inst.instance_id}`));
      // A peer that opened its grant deleted it; it now holds the secret and needs no new grant.
      // Only peers registered after the secret existed are backfilled (they have none at all).
      const fresh = missing.filter((id) => !this.grantedOnce.has(`${id}\n${inst.instance_id}`));
      if (fresh.length > 0) await this.grantTo([inst], fresh);
    }
    for (const key of this.grantedOnce) if (!this.held.has(key.split('\n')[0]!)) this.grantedOnce.delete(key);
  }

  /** Wipes everything held in memory and unregisters the instance. */
  async close(): Promise<void> {
    this.drop([...this.held.keys()]);
    wipe(this.current.seed, this.previous?.seed);
    await repo.deleteInstance(this.o.store, this.instanceId).catch(() => {});
  }
}
