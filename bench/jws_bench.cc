// JWS sign/verify through crypto::KeySet next to bare OpenSSL doing the same
// signature check in the same binary, so the overhead of parsing, base64url
// and the key lookup is visible as the difference between the two.
#include <benchmark/benchmark.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "crypto/encoding.h"
#include "crypto/jws.h"

namespace {

using stepup::crypto::Alg;

// The payload stepup puts in an access token (same members, realistic sizes).
const char* const kPayload =
    R"({"iss":"http://localhost:8080","aud":"stepup","sub":"alice","sid":"q5b3dA9kXzV0mPq2",)"
    R"("iat":1790000000,"exp":1790000600,"jti":"3hJ6kq0Yb8n2Vw1xZp4sRt","acr":"aal1",)"
    R"("amr":["pwd"],"auth_time":1790000000})";

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct SigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// One key, one token, and the same signature ready for bare OpenSSL
// (DER for ECDSA, raw 64 bytes for Ed25519).
struct Fixture {
  explicit Fixture(Alg alg) : key(stepup::crypto::SigningKey::generate(alg)) {
    if (!keys.add_jwk(key.public_jwk_json())) throw std::runtime_error("add_jwk");
    token = key.sign_compact(kPayload);
    const auto dot2 = token.rfind('.');
    signing_input = token.substr(0, dot2);
    auto raw = stepup::crypto::base64url_decode(std::string_view(token).substr(dot2 + 1));
    if (!raw || raw->size() != 64) throw std::runtime_error("signature");
    const std::string pem = key.private_pem();
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!pkey) throw std::runtime_error("pem");
    if (alg == Alg::kES256) {
      std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
      auto* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw->data()), 32, nullptr);
      auto* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw->data()) + 32, 32, nullptr);
      ECDSA_SIG_set0(sig.get(), r, s);
      unsigned char* der = nullptr;
      const int n = i2d_ECDSA_SIG(sig.get(), &der);
      bare_sig.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
      OPENSSL_free(der);
      md = EVP_sha256();
    } else {
      bare_sig = *raw;
      md = nullptr;  // Ed25519 is "pure": no digest
    }
  }

  bool bare_verify(EVP_MD_CTX* ctx) const {
    return EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(bare_sig.data()),
                            bare_sig.size(),
                            reinterpret_cast<const unsigned char*>(signing_input.data()),
                            signing_input.size()) == 1;
  }

  stepup::crypto::SigningKey key;
  stepup::crypto::KeySet keys;
  std::string token;
  std::string signing_input;
  std::string bare_sig;
  Pkey pkey;
  const EVP_MD* md = nullptr;
};

Fixture& fixture(Alg alg) {
  static Fixture es(Alg::kES256);
  static Fixture ed(Alg::kEdDSA);
  return alg == Alg::kES256 ? es : ed;
}

Alg alg_of(const benchmark::State& state) {
  return state.range(0) == 0 ? Alg::kES256 : Alg::kEdDSA;
}

void set_label(benchmark::State& state) {
  state.SetLabel(std::string(stepup::crypto::to_string(alg_of(state))));
}

// What stepup does per Bearer request: split, decode, parse header, find kid,
// verify, decode + parse payload.
void BM_KeySetVerify(benchmark::State& state) {
  Fixture& f = fixture(alg_of(state));
  for (auto _ : state) {
    auto v = f.keys.verify(f.token);
    if (!v) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(v);
  }
  set_label(state);
}
BENCHMARK(BM_KeySetVerify)->Arg(0)->Arg(1);

// The signature step alone, through the key set (kid lookup + copy of the
// pre-initialised context + EVP_DigestVerify).
void BM_KeySetVerifySignature(benchmark::State& state) {
  Fixture& f = fixture(alg_of(state));
  const auto dot2 = f.token.rfind('.');
  const std::string raw =
      *stepup::crypto::base64url_decode(std::string_view(f.token).substr(dot2 + 1));
  const std::string kid = f.key.kid();
  for (auto _ : state) {
    auto v = f.keys.verify_signature(kid, alg_of(state), f.signing_input, raw);
    if (!v) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(v);
  }
  set_label(state);
}
BENCHMARK(BM_KeySetVerifySignature)->Arg(0)->Arg(1);

// Bare OpenSSL, the way a careful caller does it: the key is parsed once, the
// verify context is initialised once and copied per call.
void BM_BareOpenSslVerify(benchmark::State& state) {
  Fixture& f = fixture(alg_of(state));
  MdCtx tmpl(EVP_MD_CTX_new());
  if (EVP_DigestVerifyInit(tmpl.get(), nullptr, f.md, nullptr, f.pkey.get()) != 1) {
    state.SkipWithError("init");
    return;
  }
  MdCtx ctx(EVP_MD_CTX_new());
  for (auto _ : state) {
    EVP_MD_CTX_copy_ex(ctx.get(), tmpl.get());
    if (!f.bare_verify(ctx.get())) state.SkipWithError("bare verify failed");
  }
  set_label(state);
}
BENCHMARK(BM_BareOpenSslVerify)->Arg(0)->Arg(1);

// Bare OpenSSL the naive way: EVP_DigestVerifyInit on every call (fetches
// the algorithm and takes global locks in OpenSSL 3).
void BM_BareOpenSslVerifyReinit(benchmark::State& state) {
  Fixture& f = fixture(alg_of(state));
  MdCtx ctx(EVP_MD_CTX_new());
  for (auto _ : state) {
    EVP_MD_CTX_reset(ctx.get());
    EVP_DigestVerifyInit(ctx.get(), nullptr, f.md, nullptr, f.pkey.get());
    if (!f.bare_verify(ctx.get())) state.SkipWithError("bare verify failed");
  }
  set_label(state);
}
BENCHMARK(BM_BareOpenSslVerifyReinit)->Arg(0)->Arg(1);

void BM_SignCompact(benchmark::State& state) {
  Fixture& f = fixture(alg_of(state));
  for (auto _ : state) {
    std::string t = f.key.sign_compact(kPayload);
    benchmark::DoNotOptimize(t);
  }
  set_label(state);
}
BENCHMARK(BM_SignCompact)->Arg(0)->Arg(1);

// Parsing a public JWK into a key object: what "keys parsed once" saves.
void BM_KeySetAddJwk(benchmark::State& state) {
  Fixture& f = fixture(alg_of(state));
  const std::string jwk = f.key.public_jwk_json();
  for (auto _ : state) {
    stepup::crypto::KeySet ks;
    auto r = ks.add_jwk(jwk);
    benchmark::DoNotOptimize(r);
  }
  set_label(state);
}
BENCHMARK(BM_KeySetAddJwk)->Arg(0)->Arg(1);

}  // namespace
