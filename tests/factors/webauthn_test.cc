// WebAuthn relying-party verification against a software authenticator
// (tests/factors/soft_authenticator.h), a fixed Ed25519 vector (RFC 8032 §7.1
// TEST 1 key, signatures made with the openssl CLI), and the CBOR / COSE
// layers underneath (RFC 8949 Appendix A encodings).
#include "factors/webauthn.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "factors/cbor.h"
#include "factors/cose.h"
#include "factors/soft_authenticator.h"

namespace stepup::factors::webauthn {
namespace {

using cbor::Value;
using test::SoftAuthenticator;

std::string hex(std::string_view h) { return *crypto::hex_decode(h); }

RpConfig rp_config() {
  RpConfig rp;
  rp.rp_id = test::kRpId;
  rp.origins = {test::kOrigin, "https://login.example.com"};
  return rp;
}

const std::string kChallenge = test::challenge_bytes('c');

// ---- CBOR ------------------------------------------------------------------

// RFC 8949 Appendix A: value and its encoding.
TEST(Cbor, Rfc8949AppendixAIntegersAndStrings) {
  const std::vector<std::pair<Value, std::string>> cases = {
      {Value::integer(0), "00"},
      {Value::integer(23), "17"},
      {Value::integer(24), "1818"},
      {Value::integer(100), "1864"},
      {Value::integer(1000), "1903e8"},
      {Value::integer(1000000), "1a000f4240"},
      {Value::integer(1000000000000), "1b000000e8d4a51000"},
      {Value::unsigned_int(18446744073709551615u), "1bffffffffffffffff"},
      {Value::integer(-1), "20"},
      {Value::integer(-10), "29"},
      {Value::integer(-100), "3863"},
      {Value::integer(-1000), "3903e7"},
      {Value::bytes(""), "40"},
      {Value::bytes("\x01\x02\x03\x04"), "4401020304"},
      {Value::text(""), "60"},
      {Value::text("IETF"), "6449455446"},
      {Value::boolean(false), "f4"},
      {Value::boolean(true), "f5"},
      {Value::null(), "f6"},
      {Value::undefined(), "f7"},
  };
  for (const auto& [value, enc] : cases) {
    EXPECT_EQ(crypto::hex_encode(cbor::encode(value)), enc);
    auto back = cbor::decode(hex(enc));
    ASSERT_TRUE(back.has_value()) << enc;
    EXPECT_TRUE(*back == value) << enc;
  }
  EXPECT_EQ(cbor::decode(hex("3903e7"))->as_int(), -1000);
  EXPECT_EQ(cbor::decode(hex("1bffffffffffffffff"))->as_int(), std::nullopt);  // > INT64_MAX
}

TEST(Cbor, Rfc8949AppendixAContainers) {
  // [1, [2, 3], [4, 5]]
  auto a = cbor::decode(hex("8301820203820405"));
  ASSERT_TRUE(a.has_value());
  ASSERT_EQ(a->as_array()->size(), 3u);
  EXPECT_EQ((*a->as_array())[1].as_array()->at(1).as_int(), 3);
  EXPECT_EQ(crypto::hex_encode(cbor::encode(*a)), "8301820203820405");
  // {"a": 1, "b": [2, 3]}
  auto m = cbor::decode(hex("a26161016162820203"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->find("a")->as_int(), 1);
  EXPECT_EQ(m->find("b")->as_array()->size(), 2u);
  EXPECT_EQ(m->find("c"), nullptr);
  EXPECT_EQ(crypto::hex_encode(cbor::encode(*m)), "a26161016162820203");
  // 1(1363896240) encodes as in the RFC; tags are refused on decode (WebAuthn
  // never uses them, and libcbor 0.8 cannot read back its own 0xc6..0xd4).
  EXPECT_EQ(crypto::hex_encode(cbor::encode(Value::tag(1, Value::integer(1363896240)))),
            "c11a514b67b0");
  EXPECT_EQ(cbor::decode(hex("c11a514b67b0")).error(), cbor::DecodeError::kTag);
  EXPECT_EQ(cbor::decode(hex("d80e00")).error(), cbor::DecodeError::kTag);
  EXPECT_EQ(cbor::decode(hex("a1616182d82000")).error(), cbor::DecodeError::kTag);  // nested
  // 1.5 as a half float.
  auto f = cbor::decode(hex("f93e00"));
  ASSERT_TRUE(f.has_value());
  EXPECT_DOUBLE_EQ(f->as_double(), 1.5);
}

TEST(Cbor, RejectsMalformedInput) {
  using E = cbor::DecodeError;
  EXPECT_EQ(cbor::decode("").error(), E::kEmpty);
  EXPECT_EQ(cbor::decode(hex("18")).error(), E::kTruncated);    // uint8 without its byte
  EXPECT_EQ(cbor::decode(hex("4401")).error(), E::kTruncated);  // 4-byte string, 1 present
  EXPECT_EQ(cbor::decode(hex("820102")).has_value(), true);
  EXPECT_EQ(cbor::decode(hex("821818")).error(), E::kTruncated);     // array short of items
  EXPECT_EQ(cbor::decode(hex("8301")).error(), E::kLengthTooLarge);  // 3 items cannot fit in 1 byte
  EXPECT_EQ(cbor::decode(hex("1c")).error(), E::kMalformed);         // reserved additional info
  EXPECT_EQ(cbor::decode(hex("ff")).error(), E::kMalformed);         // stray break
  EXPECT_EQ(cbor::decode(hex("9f01ff")).error(), E::kIndefinite);    // indefinite array
  EXPECT_EQ(cbor::decode(hex("5f4101ff")).error(), E::kIndefinite);  // indefinite bytes
  EXPECT_EQ(cbor::decode(hex("9bffffffffffffffff00")).error(), E::kLengthTooLarge);
  EXPECT_EQ(cbor::decode(hex("bbffffffffffffffff00")).error(), E::kLengthTooLarge);
  EXPECT_EQ(cbor::decode(hex("a2616101616102")).error(), E::kDuplicateKey);
  EXPECT_EQ(cbor::decode(hex("a2810101810102")).error(), E::kDuplicateKey);  // [1] twice
  EXPECT_TRUE(cbor::decode(hex("a2810101810202")).has_value());              // [1], [2]
  EXPECT_EQ(cbor::decode(hex("0000")).error(), E::kTrailingBytes);
  auto p = cbor::decode_prefix(hex("0000"));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->consumed, 1u);
}

TEST(Cbor, DepthAndItemLimits) {
  std::string deep(cbor::kMaxDepth, '\x81');
  deep += '\x00';
  EXPECT_TRUE(cbor::decode(deep).has_value());
  std::string too_deep(cbor::kMaxDepth + 1, '\x81');
  too_deep += '\x00';
  EXPECT_EQ(cbor::decode(too_deep).error(), cbor::DecodeError::kTooDeep);
  // A huge nest is refused without recursing or running out of stack.
  EXPECT_EQ(cbor::decode(std::string(1 << 20, '\x81')).error(), cbor::DecodeError::kTooDeep);
  // Array of kMaxItems zeros: 1 + kMaxItems items.
  std::string many = hex("9a") + test::u32_be(cbor::kMaxItems) + std::string(cbor::kMaxItems, '\0');
  EXPECT_EQ(cbor::decode(many).error(), cbor::DecodeError::kTooManyItems);
  std::string fits =
      hex("9a") + test::u32_be(cbor::kMaxItems - 1) + std::string(cbor::kMaxItems - 1, '\0');
  EXPECT_TRUE(cbor::decode(fits).has_value());
}

// ---- COSE ------------------------------------------------------------------

TEST(Cose, KeysOfEachAlgorithmVerifyTheirSignatures) {
  for (int alg : {cose::kES256, cose::kEdDSA, cose::kRS256}) {
    SoftAuthenticator a(alg);
    auto key = cose::PublicKey::from_cose_bytes(a.cose_key());
    ASSERT_TRUE(key.has_value()) << alg;
    EXPECT_EQ(key->alg(), alg);
    const std::string sig = a.sign("message");
    EXPECT_TRUE(key->verify("message", sig));
    EXPECT_FALSE(key->verify("messagf", sig));
    auto again = cose::PublicKey::from_spki_der(key->spki_der(), alg);
    ASSERT_TRUE(again.has_value());
    EXPECT_TRUE(again->verify("message", sig));
  }
}

Value with_entry(Value key, std::int64_t label, Value v) {
  auto& m = key.mutable_entries();
  for (auto& [k, old] : m) {
    if (k.as_int() == label) {
      old = std::move(v);
      return key;
    }
  }
  m.emplace_back(Value::integer(label), std::move(v));
  return key;
}

TEST(Cose, RejectsBadKeys) {
  using E = cose::KeyError;
  SoftAuthenticator ec(cose::kES256);
  SoftAuthenticator ed(cose::kEdDSA);
  const Value ec_key = ec.cose_key_value();
  EXPECT_EQ(cose::PublicKey::from_cose(Value::integer(1)).error(), E::kNotAMap);
  EXPECT_EQ(cose::PublicKey::from_cose_bytes(ec.cose_key() + "x").error(), E::kBadCbor);
  EXPECT_EQ(cose::PublicKey::from_cose(with_entry(ec_key, 3, Value::integer(-35))).error(),
            E::kUnsupportedAlg);  // ES384
  EXPECT_EQ(cose::PublicKey::from_cose(with_entry(ec_key, 3, Value::integer(-8))).error(),
            E::kKtyAlgMismatch);  // EC2 key claiming EdDSA
  EXPECT_EQ(cose::PublicKey::from_cose(with_entry(ec_key, 3, Value::text("ES256"))).error(),
            E::kMissingAlg);
  EXPECT_EQ(cose::PublicKey::from_cose(with_entry(ec_key, -1, Value::integer(2))).error(),
            E::kBadCurve);  // P-384 id
  EXPECT_EQ(cose::PublicKey::from_cose(with_entry(ec_key, -3, Value::boolean(true))).error(),
            E::kBadParameter);  // compressed-point form is not for WebAuthn
  EXPECT_EQ(cose::PublicKey::from_cose(with_entry(ec_key, -4, Value::bytes(std::string(32, 'd'))))
                .error(),
            E::kBadParameter);  // private part
  // (x, y) that is not on P-256.
  EXPECT_EQ(
      cose::PublicKey::from_cose(with_entry(ec_key, -3, Value::bytes(std::string(32, '\x01'))))
          .error(),
      E::kInvalidKey);
  EXPECT_EQ(cose::PublicKey::from_cose(with_entry(ed.cose_key_value(), -2, Value::bytes("short")))
                .error(),
            E::kBadParameter);
  // RSA below 2048 bits.
  Value::Map small;
  small.emplace_back(Value::integer(1), Value::integer(3));
  small.emplace_back(Value::integer(3), Value::integer(-257));
  small.emplace_back(Value::integer(-1), Value::bytes(std::string(128, '\xff')));
  small.emplace_back(Value::integer(-2), Value::bytes("\x01\x00\x01"));
  EXPECT_EQ(cose::PublicKey::from_cose(Value::map(small)).error(), E::kInvalidKey);
  Value::Map no_kty;
  no_kty.emplace_back(Value::integer(3), Value::integer(-7));
  EXPECT_EQ(cose::PublicKey::from_cose(Value::map(no_kty)).error(), E::kMissingKty);
  // An SPKI whose type does not fit the alg.
  auto ed_key = cose::PublicKey::from_cose_bytes(ed.cose_key());
  EXPECT_EQ(cose::PublicKey::from_spki_der(ed_key->spki_der(), cose::kES256).error(),
            E::kKtyAlgMismatch);
}

// ---- the known-good vector ---------------------------------------------------
//
// Hand-assembled bytes; the two signatures were made once with
// `openssl pkeyutl -sign -rawin` over authData || SHA-256(clientDataJSON) with
// the RFC 8032 §7.1 TEST 1 Ed25519 key (Ed25519 is deterministic).

constexpr char kVecChallenge[] = "0123456789abcdef0123456789abcdef";
constexpr char kVecCreateJson[] =
    R"({"type":"webauthn.create","challenge":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY","origin":"https://example.com","crossOrigin":false})";
constexpr char kVecGetJson[] =
    R"({"type":"webauthn.get","challenge":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY","origin":"https://example.com","crossOrigin":false})";
constexpr char kVecRpIdHash[] = "a379a6f6eeafb9a55e378c118034e2751e682fab9f2d30ab13d2125586ce1947";
constexpr char kVecPublicKey[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

std::string vector_auth_data_create() {
  return hex(kVecRpIdHash) + hex("45")                            // flags UP | UV | AT
         + hex("00000000")                                        // signCount
         + hex("00000000000000000000000000000000")                // AAGUID
         + hex("0010") + hex("000102030405060708090a0b0c0d0e0f")  // credential id
         + hex("a4010103272006215820") + hex(kVecPublicKey);      // {1:1, 3:-8, -1:6, -2:h'..'}
}

std::string vector_attestation_object() {
  // {"fmt": "packed", "attStmt": {"alg": -8, "sig": h'..'}, "authData": h'..'}
  return hex("a3") + hex("63") + "fmt" + hex("66") + "packed" + hex("67") + "attStmt" + hex("a2") +
         hex("63") + "alg" + hex("27") + hex("63") + "sig" + hex("5840") +
         hex("bded9c957af405be200565d8e0cd1f85629d1ecf2444b4a0637ed57b0a087e41"
             "a74b55fb0a5291b9200ffaf692e46e88de84302430414955ca392472319aa904") +
         hex("68") + "authData" + hex("5871") + vector_auth_data_create();
}

TEST(WebAuthnVector, Ed25519PackedSelfRegistrationAndAssertion) {
  RegistrationInput reg{kVecCreateJson, vector_attestation_object(), kVecChallenge};
  auto cred = verify_registration(rp_config(), reg);
  ASSERT_TRUE(cred.has_value()) << to_string(cred.error());
  EXPECT_EQ(cred->alg, cose::kEdDSA);
  EXPECT_EQ(crypto::hex_encode(cred->id), "000102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(cred->public_key_cose, hex("a4010103272006215820") + hex(kVecPublicKey));
  EXPECT_EQ(cred->fmt, "packed");
  EXPECT_EQ(cred->attestation, AttestationType::kSelf);
  EXPECT_TRUE(cred->uv);
  EXPECT_FALSE(cred->backup_eligible);
  EXPECT_EQ(aaguid_string(cred->aaguid), "00000000-0000-0000-0000-000000000000");

  const std::string get_auth_data = hex(kVecRpIdHash) + hex("05") + hex("00000001");
  AssertionInput as{cred->id, kVecGetJson, get_auth_data,
                    hex("20961f612eb78773c7c6752c0a6afe9b6427e18bd2cf99d91072b09c96a5d423"
                        "b0fdfaaa70922bc4f37bc0babe7ecd488ffe0107299db01ff81c59eb03af7a0a"),
                    kVecChallenge};
  StoredCredential stored{cred->public_key_cose, cred->alg, cred->sign_count,
                          cred->backup_eligible};
  auto res = verify_assertion(rp_config(), stored, as);
  ASSERT_TRUE(res.has_value()) << to_string(res.error());
  EXPECT_EQ(res->new_sign_count, 1u);
  EXPECT_TRUE(res->uv);

  // The same bytes fail once anything signed changes.
  AssertionInput tampered = as;
  tampered.client_data_json[2] = 'T';  // "Type" is still JSON, but not what was signed
  EXPECT_FALSE(verify_assertion(rp_config(), stored, tampered).has_value());
  RegistrationInput bad_reg = reg;
  bad_reg.attestation_object.back() ^= 0x01;  // last byte of the public key
  EXPECT_FALSE(verify_registration(rp_config(), bad_reg).has_value());
}

// ---- positive ceremonies for each algorithm -----------------------------------

class EachAlg : public ::testing::TestWithParam<int> {};
INSTANTIATE_TEST_SUITE_P(Algs, EachAlg, ::testing::Values(cose::kES256, cose::kEdDSA, cose::kRS256),
                         [](const auto& info) { return std::string(cose::alg_name(info.param)); });

TEST_P(EachAlg, RegistersThenAsserts) {
  SoftAuthenticator a(GetParam());
  auto reg = a.make_credential();
  auto cred = verify_registration(rp_config(), reg.input(kChallenge));
  ASSERT_TRUE(cred.has_value()) << to_string(cred.error());
  EXPECT_EQ(cred->id, a.credential_id());
  EXPECT_EQ(cred->alg, GetParam());
  EXPECT_EQ(cred->public_key_cose, a.cose_key());
  EXPECT_EQ(cred->aaguid, a.aaguid());
  EXPECT_EQ(cred->fmt, "none");
  EXPECT_EQ(cred->attestation, AttestationType::kNone);
  EXPECT_TRUE(cred->uv);
  EXPECT_EQ(cred->sign_count, 0u);

  SoftAuthenticator::Options o;
  o.challenge = test::challenge_bytes('g');
  o.sign_count = 7;
  auto as = a.get_assertion(o);
  StoredCredential stored{cred->public_key_cose, cred->alg, cred->sign_count,
                          cred->backup_eligible};
  auto res = verify_assertion(rp_config(), stored, as.input(a.credential_id(), o.challenge));
  ASSERT_TRUE(res.has_value()) << to_string(res.error());
  EXPECT_EQ(res->new_sign_count, 7u);
  EXPECT_TRUE(res->uv);
  EXPECT_FALSE(res->backed_up);
  EXPECT_EQ(methods_for(res->uv, stored.backup_eligible),
            (std::vector<std::string>{"hwk", "user"}));
}

TEST_P(EachAlg, PackedSelfAttestation) {
  SoftAuthenticator a(GetParam());
  auto cred = verify_registration(rp_config(), a.make_credential_packed_self().input(kChallenge));
  ASSERT_TRUE(cred.has_value()) << to_string(cred.error());
  EXPECT_EQ(cred->fmt, "packed");
  EXPECT_EQ(cred->attestation, AttestationType::kSelf);
}

TEST_P(EachAlg, EverySingleBitFlipOfTheSignatureFails) {
  SoftAuthenticator a(GetParam());
  SoftAuthenticator::Options o;
  o.sign_count = 1;
  auto as = a.get_assertion(o);
  const auto stored = a.stored();
  ASSERT_TRUE(
      verify_assertion(rp_config(), stored, as.input(a.credential_id(), o.challenge)).has_value());
  std::size_t flips = 0;
  for (std::size_t i = 0; i < as.signature.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = as;
      bad.signature[i] = static_cast<char>(bad.signature[i] ^ (1 << bit));
      auto res = verify_assertion(rp_config(), stored, bad.input(a.credential_id(), o.challenge));
      ASSERT_FALSE(res.has_value()) << "byte " << i << " bit " << bit;
      EXPECT_EQ(res.error(), Error::kBadSignature);
      ++flips;
    }
  }
  EXPECT_EQ(flips, 8 * as.signature.size());
  EXPECT_GT(flips, 0u);
}

// ---- registration failures -------------------------------------------------------

tl::expected<Credential, Error> register_with(const SoftAuthenticator::Options& o,
                                              const RpConfig& rp = rp_config(),
                                              int alg = cose::kES256) {
  SoftAuthenticator a(alg);
  return verify_registration(rp, a.make_credential(o).input(kChallenge));
}

Error registration_error(const SoftAuthenticator::Options& o, const RpConfig& rp = rp_config(),
                         int alg = cose::kES256) {
  auto r = register_with(o, rp, alg);
  EXPECT_FALSE(r.has_value());
  return r ? Error::kUnknownCredential : r.error();
}

TEST(Registration, WrongOrigin) {
  SoftAuthenticator::Options o;
  o.origin = "https://evil.example";
  EXPECT_EQ(registration_error(o), Error::kOriginNotAllowed);
  o.origin = "https://example.com:8443";  // same host, other port: another origin
  EXPECT_EQ(registration_error(o), Error::kOriginNotAllowed);
  o.origin = "https://login.example.com";  // also configured
  EXPECT_TRUE(register_with(o).has_value());
}

TEST(Registration, WrongRpId) {
  SoftAuthenticator::Options o;
  o.rp_id = "evil.example";
  EXPECT_EQ(registration_error(o), Error::kRpIdHashMismatch);
}

TEST(Registration, ChallengeMismatch) {
  SoftAuthenticator a(cose::kES256);
  auto reg = a.make_credential();
  EXPECT_EQ(verify_registration(rp_config(), reg.input(test::challenge_bytes('d'))).error(),
            Error::kChallengeMismatch);
  // A challenge one byte longer or shorter.
  EXPECT_EQ(verify_registration(rp_config(), reg.input(kChallenge + "c")).error(),
            Error::kChallengeMismatch);
  EXPECT_EQ(verify_registration(rp_config(), reg.input(kChallenge.substr(1))).error(),
            Error::kChallengeMismatch);
  // The server side must have issued >= 16 bytes.
  SoftAuthenticator::Options o;
  o.challenge = "short";
  EXPECT_EQ(verify_registration(rp_config(), a.make_credential(o).input("short")).error(),
            Error::kWeakChallenge);
}

TEST(Registration, WrongType) {
  SoftAuthenticator::Options o;
  o.type = "webauthn.get";
  EXPECT_EQ(registration_error(o), Error::kWrongType);
  o.type = "payment.get";
  EXPECT_EQ(registration_error(o), Error::kWrongType);
}

TEST(Registration, CrossOrigin) {
  SoftAuthenticator::Options o;
  o.cross_origin = true;
  EXPECT_EQ(registration_error(o), Error::kCrossOrigin);
  o.cross_origin = std::nullopt;  // absent is same-origin
  EXPECT_TRUE(register_with(o).has_value());
}

TEST(Registration, BadClientData) {
  SoftAuthenticator a(cose::kES256);
  auto reg = a.make_credential();
  for (std::string bad :
       {std::string("not json"), std::string("[]"), std::string(R"({"type":"webauthn.create"})"),
        std::string(R"({"type":1,"challenge":"x","origin":"y"})"),
        test::client_data_json("webauthn.create", kChallenge, test::kOrigin, std::nullopt,
                               R"(,"crossOrigin":"yes")"),
        test::client_data_json("webauthn.create", kChallenge, test::kOrigin, false,
                               R"(,"tokenBinding":{"status":"present","id":"AAA"})"),
        std::string("{\"type\":\"webauthn.create\xff\"}")}) {
    auto r = reg;
    r.client_data_json = bad;
    auto res = verify_registration(rp_config(), r.input(kChallenge));
    ASSERT_FALSE(res.has_value()) << bad;
    EXPECT_EQ(res.error(), Error::kBadClientData) << bad;
  }
  // topOrigin means the ceremony ran inside another site.
  auto r = reg;
  r.client_data_json = test::client_data_json("webauthn.create", kChallenge, test::kOrigin, false,
                                              R"(,"topOrigin":"https://evil.example")");
  EXPECT_EQ(verify_registration(rp_config(), r.input(kChallenge)).error(), Error::kCrossOrigin);
  // Unknown members and tokenBinding "supported" are fine.
  r.client_data_json =
      test::client_data_json("webauthn.create", kChallenge, test::kOrigin, false,
                             R"(,"tokenBinding":{"status":"supported"},"other":1)");
  EXPECT_TRUE(verify_registration(rp_config(), r.input(kChallenge)).has_value());
}

TEST(Registration, UserPresenceAndVerification) {
  SoftAuthenticator::Options o;
  o.flags = kFlagUv;  // UP missing
  EXPECT_EQ(registration_error(o), Error::kUserNotPresent);
  o.flags = kFlagUp;  // UV missing
  auto ok = register_with(o);
  ASSERT_TRUE(ok.has_value());
  EXPECT_FALSE(ok->uv);
  RpConfig uv = rp_config();
  uv.require_uv = true;
  EXPECT_EQ(registration_error(o, uv), Error::kUserNotVerified);
}

TEST(Registration, BackupFlags) {
  SoftAuthenticator::Options o;
  o.flags = kFlagUp | kFlagUv | kFlagBs;  // BS without BE
  EXPECT_EQ(registration_error(o), Error::kBadBackupFlags);
  o.flags = kFlagUp | kFlagUv | kFlagBe | kFlagBs;  // a synced passkey
  auto c = register_with(o);
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->backup_eligible);
  EXPECT_TRUE(c->backed_up);
  EXPECT_EQ(methods_for(c->uv, c->backup_eligible), (std::vector<std::string>{"swk", "user"}));
  o.flags = kFlagUp | kFlagBe;  // eligible, not yet backed up
  c = register_with(o);
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->backup_eligible);
  EXPECT_FALSE(c->backed_up);
}

TEST(Registration, UnsupportedAlgorithm) {
  RpConfig only_es256 = rp_config();
  only_es256.algorithms = {cose::kES256};
  EXPECT_EQ(registration_error(SoftAuthenticator::Options(), only_es256, cose::kEdDSA),
            Error::kUnsupportedAlgorithm);
  EXPECT_EQ(registration_error(SoftAuthenticator::Options(), only_es256, cose::kRS256),
            Error::kUnsupportedAlgorithm);
  // A COSE key with an algorithm we do not implement at all (ES384).
  SoftAuthenticator a(cose::kES256);
  Value key = with_entry(a.cose_key_value(), 3, Value::integer(-35));
  const std::string ad =
      test::authenticator_data(test::kRpId, kFlagUp | kFlagAt, 0,
                               test::attested_credential_data(a.aaguid(), "id", cbor::encode(key)));
  RegistrationInput in{test::client_data_json("webauthn.create", kChallenge),
                       test::attestation_object("none", Value::map({}), ad), kChallenge};
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kUnsupportedAlgorithm);
}

TEST(Registration, BadCoseKey) {
  SoftAuthenticator a(cose::kES256);
  Value key =
      with_entry(a.cose_key_value(), -3, Value::bytes(std::string(32, '\x01')));  // off curve
  const std::string ad =
      test::authenticator_data(test::kRpId, kFlagUp | kFlagAt, 0,
                               test::attested_credential_data(a.aaguid(), "id", cbor::encode(key)));
  RegistrationInput in{test::client_data_json("webauthn.create", kChallenge),
                       test::attestation_object("none", Value::map({}), ad), kChallenge};
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadCoseKey);
}

TEST(Registration, CredentialIdLength) {
  for (std::size_t len : {std::size_t{1}, std::size_t{1023}}) {
    SoftAuthenticator a(cose::kES256, std::string(len, 'i'));
    auto c = verify_registration(rp_config(), a.make_credential().input(kChallenge));
    ASSERT_TRUE(c.has_value()) << len;
    EXPECT_EQ(c->id.size(), len);
  }
  SoftAuthenticator a(cose::kES256, std::string(1024, 'i'));
  EXPECT_EQ(verify_registration(rp_config(), a.make_credential().input(kChallenge)).error(),
            Error::kCredentialIdTooLong);
}

TEST(Registration, TrailingBytes) {
  SoftAuthenticator a(cose::kES256);
  // After the attestation object.
  auto reg = a.make_credential();
  reg.attestation_object += '\0';
  EXPECT_EQ(verify_registration(rp_config(), reg.input(kChallenge)).error(), Error::kTrailingBytes);
  // After the COSE key inside authData, with the ED flag clear.
  SoftAuthenticator::Options o;
  o.trailing = std::string("\xa0", 1);
  EXPECT_EQ(verify_registration(rp_config(), a.make_credential(o).input(kChallenge)).error(),
            Error::kTrailingBytes);
  // With ED set the same position holds an extensions map, and then nothing.
  o.trailing.clear();
  o.extensions = cbor::encode(Value::map({{Value::text("credProtect"), Value::integer(2)}}));
  auto c = verify_registration(rp_config(), a.make_credential(o).input(kChallenge));
  ASSERT_TRUE(c.has_value()) << to_string(c.error());
  o.trailing = "x";
  EXPECT_EQ(verify_registration(rp_config(), a.make_credential(o).input(kChallenge)).error(),
            Error::kTrailingBytes);
  // ED set with a non-map extensions item.
  o.trailing.clear();
  o.extensions = cbor::encode(Value::integer(1));
  EXPECT_EQ(verify_registration(rp_config(), a.make_credential(o).input(kChallenge)).error(),
            Error::kBadAuthData);
}

TEST(Registration, BadCbor) {
  SoftAuthenticator a(cose::kES256);
  auto reg = a.make_credential();
  auto in = reg.input(kChallenge);
  in.attestation_object =
      "\xa3\x63"
      "fm";  // truncated
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadCbor);
  in.attestation_object = "\xbf\xff";  // indefinite map
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadCbor);
  in.attestation_object = "";
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadCbor);
  // Truncated COSE key inside authData.
  const std::string key = a.cose_key();
  const std::string ad = test::authenticator_data(
      test::kRpId, kFlagUp | kFlagAt, 0,
      test::attested_credential_data(a.aaguid(), "id", key.substr(0, key.size() - 3)));
  in.attestation_object = test::attestation_object("none", Value::map({}), ad);
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadCbor);
}

TEST(Registration, BadAttestationObjectShape) {
  SoftAuthenticator a(cose::kES256);
  auto reg = a.make_credential();
  auto in = reg.input(kChallenge);
  in.attestation_object = cbor::encode(Value::array({}));
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadAttestationObject);
  Value::Map m;
  m.emplace_back(Value::text("fmt"), Value::text("none"));
  m.emplace_back(Value::text("attStmt"), Value::map({}));
  m.emplace_back(Value::text("authData"), Value::text(reg.auth_data));  // text, not bytes
  in.attestation_object = cbor::encode(Value::map(m));
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadAttestationObject);
}

TEST(Registration, AuthDataStructure) {
  SoftAuthenticator a(cose::kES256);
  auto in = a.make_credential().input(kChallenge);
  // AT flag missing on a registration.
  in.attestation_object = test::attestation_object(
      "none", Value::map({}), test::authenticator_data(test::kRpId, kFlagUp | kFlagUv, 0));
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadAuthData);
  // Shorter than 37 bytes.
  in.attestation_object = test::attestation_object("none", Value::map({}), std::string(36, '\0'));
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadAuthData);
  // Credential id length larger than what follows.
  in.attestation_object = test::attestation_object(
      "none", Value::map({}),
      test::authenticator_data(test::kRpId, kFlagUp | kFlagAt, 0,
                               a.aaguid() + std::string("\x00\x40", 2) + "ab"));
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadAuthData);
}

TEST(Registration, NoneWithNonEmptyAttStmt) {
  SoftAuthenticator a(cose::kES256);
  auto reg = a.make_credential();
  auto in = reg.input(kChallenge);
  in.attestation_object = test::attestation_object(
      "none", Value::map({{Value::text("alg"), Value::integer(-7)}}), reg.auth_data);
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadAttestation);
}

TEST(Registration, UnsupportedFormat) {
  SoftAuthenticator a(cose::kES256);
  auto reg = a.make_credential();
  auto in = reg.input(kChallenge);
  for (const char* fmt : {"fido-u2f", "tpm", "android-key", "apple", "Packed", "NONE"}) {
    in.attestation_object = test::attestation_object(fmt, Value::map({}), reg.auth_data);
    EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadAttestation) << fmt;
  }
}

TEST(Registration, PackedSelfAttestationFailures) {
  SoftAuthenticator a(cose::kES256);
  // The attStmt names another alg than the credential key's.
  EXPECT_EQ(verify_registration(rp_config(), a.make_credential_packed_self(
                                                  SoftAuthenticator::Options(), cose::kRS256)
                                                 .input(kChallenge))
                .error(),
            Error::kBadAttestation);
  // Signature over the wrong client data hash.
  auto reg = a.make_credential();
  const std::string wrong_sig = a.sign(reg.auth_data + crypto::sha256("other client data"));
  auto in = reg.input(kChallenge);
  in.attestation_object = test::attestation_object(
      "packed", SoftAuthenticator::packed_stmt(cose::kES256, wrong_sig), reg.auth_data);
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadSignature);
  // Signed by another key.
  SoftAuthenticator other(cose::kES256);
  const std::string other_sig = other.sign(reg.auth_data + crypto::sha256(reg.client_data_json));
  in.attestation_object = test::attestation_object(
      "packed", SoftAuthenticator::packed_stmt(cose::kES256, other_sig), reg.auth_data);
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadSignature);
  // Missing sig / unknown member.
  in.attestation_object = test::attestation_object(
      "packed", Value::map({{Value::text("alg"), Value::integer(-7)}}), reg.auth_data);
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadAttestation);
  Value stmt = SoftAuthenticator::packed_stmt(
      cose::kES256, a.sign(reg.auth_data + crypto::sha256(reg.client_data_json)));
  stmt.mutable_entries().emplace_back(Value::text("ecdaaKeyId"), Value::bytes("k"));
  in.attestation_object = test::attestation_object("packed", stmt, reg.auth_data);
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadAttestation);
}

// Packed x5c: an attestation key, certified by a test root, signs.
class PackedX5c : public ::testing::Test {
 protected:
  SoftAuthenticator cred_{cose::kEdDSA};
  SoftAuthenticator attestation_{cose::kES256};
  SoftAuthenticator root_{cose::kES256};
  SoftAuthenticator::Registration reg_ = cred_.make_credential();

  RegistrationInput with_cert(const test::CertOptions& co, int alg = cose::kES256,
                              const SoftAuthenticator* signer = nullptr) {
    const std::string cert = test::make_attestation_cert(attestation_.key(), root_.key(), co);
    const std::string sig = (signer != nullptr ? signer : &attestation_)
                                ->sign(reg_.auth_data + crypto::sha256(reg_.client_data_json));
    auto in = reg_.input(kChallenge);
    in.attestation_object = test::attestation_object(
        "packed", SoftAuthenticator::packed_stmt(alg, sig, Value::Array{Value::bytes(cert)}),
        reg_.auth_data);
    return in;
  }
};

TEST_F(PackedX5c, Accepted) {
  auto c = verify_registration(rp_config(), with_cert({}));
  ASSERT_TRUE(c.has_value()) << to_string(c.error());
  EXPECT_EQ(c->attestation, AttestationType::kBasic);
  EXPECT_EQ(c->alg, cose::kEdDSA);  // the credential's own alg, not the attestation key's
  test::CertOptions with_aaguid;
  with_aaguid.aaguid = cred_.aaguid();
  EXPECT_TRUE(verify_registration(rp_config(), with_cert(with_aaguid)).has_value());
}

TEST_F(PackedX5c, CertificateRequirements) {
  test::CertOptions o;
  o.ou = "Something Else";
  EXPECT_EQ(verify_registration(rp_config(), with_cert(o)).error(), Error::kBadAttestation);
  o = {};
  o.ca = true;
  EXPECT_EQ(verify_registration(rp_config(), with_cert(o)).error(), Error::kBadAttestation);
  o = {};
  o.version = X509_VERSION_1;
  EXPECT_EQ(verify_registration(rp_config(), with_cert(o)).error(), Error::kBadAttestation);
  o = {};
  o.aaguid = std::string(16, '\x77');  // not the authenticator's AAGUID
  EXPECT_EQ(verify_registration(rp_config(), with_cert(o)).error(), Error::kBadAttestation);
  o.aaguid = cred_.aaguid();
  o.aaguid_critical = true;
  EXPECT_EQ(verify_registration(rp_config(), with_cert(o)).error(), Error::kBadAttestation);
}

TEST_F(PackedX5c, SignatureAndAlg) {
  EXPECT_EQ(verify_registration(rp_config(), with_cert({}, cose::kES256, &cred_)).error(),
            Error::kBadSignature);
  EXPECT_EQ(verify_registration(rp_config(), with_cert({}, cose::kEdDSA)).error(),
            Error::kBadAttestation);
  // Garbage where the leaf certificate should be.
  auto in = reg_.input(kChallenge);
  in.attestation_object = test::attestation_object(
      "packed",
      SoftAuthenticator::packed_stmt(cose::kES256, "sig", Value::Array{Value::bytes("not a cert")}),
      reg_.auth_data);
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadAttestation);
  in.attestation_object = test::attestation_object(
      "packed", SoftAuthenticator::packed_stmt(cose::kES256, "sig", Value::Array{}),
      reg_.auth_data);
  EXPECT_EQ(verify_registration(rp_config(), in).error(), Error::kBadAttestation);
}

// ---- assertion failures ------------------------------------------------------------

class Assertion : public ::testing::Test {
 protected:
  SoftAuthenticator a_{cose::kES256};
  SoftAuthenticator::Options opts_ = [] {
    SoftAuthenticator::Options o;
    o.challenge = test::challenge_bytes('a');
    o.sign_count = 10;
    return o;
  }();
  StoredCredential stored_ = a_.stored(9);

  tl::expected<AssertionResult, Error> run(const SoftAuthenticator::Options& o,
                                           const RpConfig& rp = rp_config()) {
    return verify_assertion(rp, stored_,
                            a_.get_assertion(o).input(a_.credential_id(), opts_.challenge));
  }
  Error error(const SoftAuthenticator::Options& o, const RpConfig& rp = rp_config()) {
    auto r = run(o, rp);
    EXPECT_FALSE(r.has_value());
    return r ? Error::kUnknownCredential : r.error();
  }
};

TEST_F(Assertion, Baseline) {
  auto r = run(opts_);
  ASSERT_TRUE(r.has_value()) << to_string(r.error());
  EXPECT_EQ(r->new_sign_count, 10u);
}

TEST_F(Assertion, WrongOrigin) {
  auto o = opts_;
  o.origin = "http://example.com";  // http, not https
  EXPECT_EQ(error(o), Error::kOriginNotAllowed);
}

TEST_F(Assertion, WrongRpId) {
  auto o = opts_;
  o.rp_id = "login.example.com";  // a valid RP ID elsewhere, not ours
  EXPECT_EQ(error(o), Error::kRpIdHashMismatch);
}

TEST_F(Assertion, WrongOrReplayedChallenge) {
  // An assertion made for an earlier challenge, presented against the current
  // one (the caller consumes each challenge once, so a replay meets a new one).
  auto o = opts_;
  o.challenge = test::challenge_bytes('z');
  EXPECT_EQ(error(o), Error::kChallengeMismatch);
}

TEST_F(Assertion, WrongType) {
  auto o = opts_;
  o.type = "webauthn.create";
  EXPECT_EQ(error(o), Error::kWrongType);
}

TEST_F(Assertion, CrossOrigin) {
  auto o = opts_;
  o.cross_origin = true;
  EXPECT_EQ(error(o), Error::kCrossOrigin);
}

TEST_F(Assertion, UserPresenceAndVerification) {
  auto o = opts_;
  o.flags = kFlagUv;
  EXPECT_EQ(error(o), Error::kUserNotPresent);
  o.flags = kFlagUp;
  auto r = run(o);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->uv);
  EXPECT_EQ(methods_for(r->uv, false), (std::vector<std::string>{"hwk"}));
  RpConfig uv = rp_config();
  uv.require_uv = true;
  EXPECT_EQ(error(o, uv), Error::kUserNotVerified);
  o.flags = kFlagUp | kFlagUv;
  EXPECT_TRUE(run(o, uv).has_value());
}

TEST_F(Assertion, SignCount) {
  auto o = opts_;
  o.sign_count = 9;  // equal to stored
  EXPECT_EQ(error(o), Error::kSignCountRegression);
  o.sign_count = 3;  // lower
  EXPECT_EQ(error(o), Error::kSignCountRegression);
  o.sign_count = 0;  // authenticator stopped counting
  EXPECT_EQ(error(o), Error::kSignCountRegression);
  // Neither side counts (many passkeys): accepted every time.
  stored_.sign_count = 0;
  o.sign_count = 0;
  auto r = run(o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->new_sign_count, 0u);
  o.sign_count = 1;
  EXPECT_TRUE(run(o).has_value());
}

TEST_F(Assertion, BadSignatureWhenSignedDataChanges) {
  auto as = a_.get_assertion(opts_);
  auto in = as.input(a_.credential_id(), opts_.challenge);
  in.authenticator_data[36] ^= 0x01;  // sign count changed after signing
  EXPECT_EQ(verify_assertion(rp_config(), stored_, in).error(), Error::kBadSignature);
  in = as.input(a_.credential_id(), opts_.challenge);
  in.client_data_json.insert(in.client_data_json.size() - 1, R"(,"extra":1)");
  EXPECT_EQ(verify_assertion(rp_config(), stored_, in).error(), Error::kBadSignature);
  in = as.input(a_.credential_id(), opts_.challenge);
  in.signature.clear();
  EXPECT_EQ(verify_assertion(rp_config(), stored_, in).error(), Error::kBadSignature);
}

TEST_F(Assertion, CredentialOfAnotherUser) {
  // The caller looked up the credential the client named; an assertion signed
  // by another user's authenticator fails against it.
  SoftAuthenticator other(cose::kES256, "other-user-credential");
  auto as = other.get_assertion(opts_);
  EXPECT_EQ(
      verify_assertion(rp_config(), stored_, as.input(a_.credential_id(), opts_.challenge)).error(),
      Error::kBadSignature);
  // And a stored key of another algorithm than recorded is refused outright.
  StoredCredential mislabeled = stored_;
  mislabeled.alg = cose::kEdDSA;
  EXPECT_EQ(verify_assertion(rp_config(), mislabeled,
                             a_.get_assertion(opts_).input(a_.credential_id(), opts_.challenge))
                .error(),
            Error::kBadCoseKey);
}

TEST_F(Assertion, AlgorithmDroppedFromConfig) {
  RpConfig rp = rp_config();
  rp.algorithms = {cose::kEdDSA};
  EXPECT_EQ(error(opts_, rp), Error::kUnsupportedAlgorithm);
}

TEST_F(Assertion, BackupFlags) {
  auto o = opts_;
  o.flags = kFlagUp | kFlagBs;  // BS without BE
  EXPECT_EQ(error(o), Error::kBadBackupFlags);
  o.flags = kFlagUp | kFlagBe;  // BE appeared after registration
  EXPECT_EQ(error(o), Error::kBackupEligibilityChanged);
  stored_.backup_eligible = true;
  o.flags = kFlagUp | kFlagUv;  // BE vanished
  EXPECT_EQ(error(o), Error::kBackupEligibilityChanged);
  o.flags = kFlagUp | kFlagUv | kFlagBe | kFlagBs;
  auto r = run(o);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->backed_up);
  EXPECT_EQ(methods_for(r->uv, stored_.backup_eligible), (std::vector<std::string>{"swk", "user"}));
}

TEST_F(Assertion, AuthDataStructure) {
  auto o = opts_;
  o.trailing = "\x00";
  o.trailing.resize(1);
  EXPECT_EQ(error(o), Error::kTrailingBytes);
  o.trailing.clear();
  o.extensions = cbor::encode(Value::map({{Value::text("appid"), Value::boolean(false)}}));
  EXPECT_TRUE(run(o).has_value());
  o.extensions = std::string("\xa1\x61", 2);  // truncated map
  EXPECT_EQ(error(o), Error::kBadCbor);
  // AT set on an assertion.
  o.extensions.clear();
  o.flags = kFlagUp | kFlagAt;
  EXPECT_EQ(error(o), Error::kBadAuthData);
  auto in = a_.get_assertion(opts_).input(a_.credential_id(), opts_.challenge);
  in.authenticator_data.resize(36);
  EXPECT_EQ(verify_assertion(rp_config(), stored_, in).error(), Error::kBadAuthData);
}

TEST_F(Assertion, CredentialIdBounds) {
  auto as = a_.get_assertion(opts_);
  EXPECT_EQ(verify_assertion(rp_config(), stored_, as.input("", opts_.challenge)).error(),
            Error::kCredentialIdTooLong);
  EXPECT_EQ(
      verify_assertion(rp_config(), stored_, as.input(std::string(1024, 'x'), opts_.challenge))
          .error(),
      Error::kCredentialIdTooLong);
}

// ---- parsers directly -----------------------------------------------------------------

TEST(Parsers, AuthenticatorDataFields) {
  SoftAuthenticator a(cose::kRS256);
  SoftAuthenticator::Options o;
  o.sign_count = 0x01020304;
  o.flags = kFlagUp | kFlagUv | kFlagBe;
  auto ad = parse_authenticator_data(a.registration_auth_data(o), true);
  ASSERT_TRUE(ad.has_value());
  EXPECT_EQ(ad->rp_id_hash, crypto::sha256(test::kRpId));
  EXPECT_EQ(ad->sign_count, 0x01020304u);
  EXPECT_TRUE(ad->up() && ad->uv() && ad->be() && ad->at());
  EXPECT_FALSE(ad->bs() || ad->ed());
  EXPECT_EQ(ad->aaguid, a.aaguid());
  EXPECT_EQ(ad->credential_id, a.credential_id());
  EXPECT_EQ(ad->credential_public_key, a.cose_key());
  EXPECT_EQ(aaguid_string(ad->aaguid), "01020304-0506-0708-090a-0b0c0d0e0f10");
  // Every strict prefix of valid authenticator data is refused.
  const std::string full = a.registration_auth_data(o);
  for (std::size_t n = 0; n < full.size(); ++n) {
    EXPECT_FALSE(parse_authenticator_data(full.substr(0, n), true).has_value()) << n;
  }
}

TEST(Parsers, ErrorNamesAreDistinct) {
  std::vector<std::string_view> names;
  for (int i = 0; i <= static_cast<int>(Error::kCredentialAlreadyRegistered); ++i) {
    names.push_back(to_string(static_cast<Error>(i)));
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

}  // namespace
}  // namespace stepup::factors::webauthn
