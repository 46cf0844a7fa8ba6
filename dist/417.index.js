export const id = 417;
export const ids = [417];
export const modules = {

/***/ 6417:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   ENVD_PRIVATE_KEY_FILE: () => (/* binding */ ENVD_PRIVATE_KEY_FILE),
/* harmony export */   ENVD_PUBLIC_KEY_FILE: () => (/* binding */ ENVD_PUBLIC_KEY_FILE),
/* harmony export */   envdConfigDir: () => (/* binding */ envdConfigDir),
/* harmony export */   openSshPublicKey: () => (/* binding */ openSshPublicKey),
/* harmony export */   writeEnvdKeyPair: () => (/* binding */ writeEnvdKeyPair)
/* harmony export */ });
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var node_util__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(7975);
/* harmony import */ var node_util__WEBPACK_IMPORTED_MODULE_3___default = /*#__PURE__*/__webpack_require__.n(node_util__WEBPACK_IMPORTED_MODULE_3__);
// envd's SSH key pair, made by us before envd's first command.
//
// Every envd command first makes sure ~/.config/envd/id_rsa_envd(.pub)
// exist and, when they do not, generates a 4096-bit RSA key pair: 0.03 to
// 2 s of CPU on a runner, on the critical path of the build, and the
// action's first envd command runs in a fresh private HOME every time. The
// key only serves `envd up` (SSH into a development container); `envd build`
// never uses it. So we write a key pair of our own in the format envd writes
// (PKCS#1 PEM private key, OpenSSH public key) and envd keeps it. 2048 bits:
// generated in tens of milliseconds, and still a sound RSA size for a key
// that lives in a 0700 home for one job and is deleted by post.




const generate = (0,node_util__WEBPACK_IMPORTED_MODULE_3__.promisify)(node_crypto__WEBPACK_IMPORTED_MODULE_0__.generateKeyPair);
/** envd's file names (pkg/config: PrivateKeyFile, PublicKeyFile), under $HOME/.config/envd. */
const ENVD_PRIVATE_KEY_FILE = 'id_rsa_envd';
const ENVD_PUBLIC_KEY_FILE = 'id_rsa_envd.pub';
const RSA_BITS = 2048;
/** $HOME/.config/envd, where envd keeps its configuration and key pair. */
function envdConfigDir(home) {
    return node_path__WEBPACK_IMPORTED_MODULE_2__.join(home, '.config', 'envd');
}
/**
 * Writes a fresh key pair into `home` (a private directory the caller made),
 * unless one is there already. Both files 0600, created exclusively: nothing
 * that exists is overwritten.
 */
async function writeEnvdKeyPair(home) {
    const dir = envdConfigDir(home);
    await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    const privatePath = node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, ENVD_PRIVATE_KEY_FILE);
    const publicPath = node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, ENVD_PUBLIC_KEY_FILE);
    const { privateKey, publicKey } = await generate('rsa', { modulusLength: RSA_BITS });
    const privatePem = privateKey.export({ type: 'pkcs1', format: 'pem' });
    try {
        // The public key first: envd treats the pair as present only when both exist.
        await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.writeFile(publicPath, `${openSshPublicKey(publicKey)}\n`, { mode: 0o600, flag: 'wx' });
        await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.writeFile(privatePath, privatePem, { mode: 0o600, flag: 'wx' });
    }
    catch (err) {
        if (err.code === 'EEXIST')
            return;
        throw err;
    }
}
/** `ssh-rsa <base64>`: the OpenSSH public key line (RFC 4253 section 6.6 key blob). */
function openSshPublicKey(publicKey) {
    const jwk = publicKey.export({ format: 'jwk' });
    if (jwk.kty !== 'RSA' || !jwk.n || !jwk.e)
        throw new Error('not an RSA public key');
    const blob = Buffer.concat([sshString(Buffer.from('ssh-rsa')), sshMpint(Buffer.from(jwk.e, 'base64url')), sshMpint(Buffer.from(jwk.n, 'base64url'))]);
    return `ssh-rsa ${blob.toString('base64')}`;
}
function sshString(bytes) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
}
/** A positive integer as an SSH mpint: big-endian, no leading zeros, a 0 byte in front when the top bit is set. */
function sshMpint(magnitude) {
    let start = 0;
    while (start < magnitude.length - 1 && magnitude[start] === 0)
        start++;
    const trimmed = magnitude.subarray(start);
    return sshString(trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}


/***/ })

};

//# sourceMappingURL=417.index.js.map