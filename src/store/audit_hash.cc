#include "store/audit_hash.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <array>
#include <memory>

namespace stepup::store {
namespace {

void frame(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += ',';
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// SHA-256 through OpenSSL directly (not crypto/hash.h) so the store stays
// buildable and testable on its own; the digest is the same either way.
std::string sha256_hex(std::string_view a, std::string_view b) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  // SHA-256 of in-memory bytes fails only when allocation fails. Return a
  // marker that is not hex: the chain then visibly fails verification
  // instead of the process aborting on the audit path.
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), md.data(), &len) != 1) {
    ERR_clear_error();
    return "digest-failed";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 0x0f];
  }
  return hex;
}

}  // namespace

std::string audit_canonical(const AuditEvent& e) {
  std::string out;
  out.reserve(64 + e.event.size() + e.subject.size() + e.session.size() + e.ip.size() +
              e.user_agent.size() + e.details.size());
  frame(out, std::to_string(e.seq));
  frame(out, std::to_string(e.at));
  frame(out, e.event);
  frame(out, e.subject);
  frame(out, e.session);
  frame(out, e.ip);
  frame(out, e.user_agent);
  frame(out, e.details);
  return out;
}

std::string audit_row_hash(const AuditEvent& e, std::string_view prev_hash) {
  std::string head(prev_hash);
  head += '\n';
  return sha256_hex(head, audit_canonical(e));
}

}  // namespace stepup::store
