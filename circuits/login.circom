pragma circom 2.1.0;

// Zero-knowledge login (docs/ZK.md).
//
// A user registers commitment = Poseidon(DOMAIN_COMMIT, secret, salt). To log in, the user proves
// knowledge of (secret, salt) opening the stored commitment, bound to a server challenge and to the
// hash of the session public key, and reveals loginTag = Poseidon(DOMAIN_LOGIN, secret, challenge,
// sessionKeyHash).
//
// Public signals, in snarkjs order (outputs first, then public inputs):
//   [0] commitment  [1] loginTag  [2] challenge  [3] sessionKeyHash
//
// Domain constants: the ASCII label read as a big-endian integer (< 2^248, so < p, no reduction).
// Keep them in sync with src/zk/poseidon.ts.
//   DOMAIN_COMMIT = int("pqzk.zk-login.commitment.v1")
//   DOMAIN_LOGIN  = int("pqzk.zk-login.login-tag.v1")

include "poseidon.circom";

template Login() {
    var DOMAIN_COMMIT = 46256480038490845158054805759651277526850158840723210195409204785;
    var DOMAIN_LOGIN = 180689375150354863898651584998637805624595113718118071762056753;

    signal input secret;
    signal input salt;
    signal input challenge;
    signal input sessionKeyHash;

    signal output commitment;
    signal output loginTag;

    component c = Poseidon(3);
    c.inputs[0] <== DOMAIN_COMMIT;
    c.inputs[1] <== secret;
    c.inputs[2] <== salt;
    commitment <== c.out;

    component t = Poseidon(4);
    t.inputs[0] <== DOMAIN_LOGIN;
    t.inputs[1] <== secret;
    t.inputs[2] <== challenge;
    t.inputs[3] <== sessionKeyHash;
    loginTag <== t.out;

    // Explicit non-linear constraints on each public input, so the proof is bound to them even if
    // an optimiser or a later edit moved them out of the hash (a public input that sits in no
    // constraint can be changed without invalidating the proof).
    signal challengeSquared;
    signal sessionKeyHashSquared;
    challengeSquared <== challenge * challenge;
    sessionKeyHashSquared <== sessionKeyHash * sessionKeyHash;
}

component main { public [challenge, sessionKeyHash] } = Login();
