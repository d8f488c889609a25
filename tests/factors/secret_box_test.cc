#include "factors/secret_box.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace stepup::factors {
namespace {

const std::string kKeyA(32, 'A');
const std::string kKeyB(32, 'B');

SecretBox box(std::string current, std::vector<std::string> old = {}) {
  auto b = SecretBox::from_keys(std::move(current), std::move(old));
  EXPECT_TRUE(b.has_value()) << (b ? "" : b.error());
  return std::move(*b);
}

// Flips one bit of byte `i` inside the base64url body of a sealed value.
std::string flip_body_byte(const std::string& sealed, std::size_t i) {
  const std::size_t dot = sealed.rfind('.');
  auto blob = crypto::base64url_decode(sealed.substr(dot + 1));
  EXPECT_TRUE(blob.has_value());
  (*blob)[i] = static_cast<char>((*blob)[i] ^ 0x01);
  return sealed.substr(0, dot + 1) + crypto::base64url_encode(*blob);
}

TEST(SecretBox, RoundTrip) {
  const SecretBox b = box(kKeyA);
  const std::string sealed = b.seal("totp secret bytes \x01\x02", "factor:42");
  EXPECT_EQ(b.open(sealed, "factor:42"), "totp secret bytes \x01\x02");
  EXPECT_EQ(b.seal("", "ad").size(), b.seal("", "ad").size());
  EXPECT_EQ(b.open(b.seal("", "ad"), "ad"), "");
  EXPECT_FALSE(b.needs_reseal(sealed));
}

TEST(SecretBox, FormatAndKeyId) {
  const SecretBox b = box(kKeyA);
  const std::string expected_id = crypto::sha256_hex(kKeyA).substr(0, 8);
  EXPECT_EQ(b.current_key_id(), expected_id);
  const std::string sealed = b.seal("hello", "");
  EXPECT_TRUE(std::regex_match(sealed, std::regex("v1\\.[0-9a-f]{8}\\.[A-Za-z0-9_-]+")));
  EXPECT_EQ(sealed.substr(3, 8), expected_id);
  // nonce (24) + ciphertext (5) + tag (16)
  EXPECT_EQ(crypto::base64url_decode(sealed.substr(12))->size(), 24u + 5u + 16u);
}

TEST(SecretBox, FreshNonceEverySeal) {
  const SecretBox b = box(kKeyA);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(b.seal("same", "same"));
  EXPECT_EQ(seen.size(), 100u);
}

TEST(SecretBox, TamperRefused) {
  const SecretBox b = box(kKeyA);
  const std::string sealed = b.seal("secret", "ad");
  const std::size_t blob_len = crypto::base64url_decode(sealed.substr(12))->size();
  // Every byte of nonce, ciphertext and tag is covered.
  for (std::size_t i = 0; i < blob_len; ++i) {
    EXPECT_EQ(b.open(flip_body_byte(sealed, i), "ad"), std::nullopt) << i;
  }
  EXPECT_EQ(b.open(sealed.substr(0, sealed.size() - 2), "ad"), std::nullopt);  // truncated
  EXPECT_EQ(b.open(sealed + "AA", "ad"), std::nullopt);                        // extended
  EXPECT_EQ(b.open("v2" + sealed.substr(2), "ad"), std::nullopt);              // version
  EXPECT_EQ(b.open("", "ad"), std::nullopt);
  EXPECT_EQ(b.open("v1.", "ad"), std::nullopt);
  EXPECT_EQ(b.open("v1." + b.current_key_id() + ".", "ad"), std::nullopt);
  EXPECT_EQ(b.open("v1." + b.current_key_id() + ".!!!!", "ad"), std::nullopt);
  EXPECT_EQ(b.open("v1." + b.current_key_id() + "." + std::string(50, 'A'), "ad"), std::nullopt);
  // Untouched still opens (the loop above really mutated copies).
  EXPECT_EQ(b.open(sealed, "ad"), "secret");
}

TEST(SecretBox, WrongAssociatedDataRefused) {
  const SecretBox b = box(kKeyA);
  const std::string sealed = b.seal("secret", "factor:1");
  EXPECT_EQ(b.open(sealed, "factor:2"), std::nullopt);
  EXPECT_EQ(b.open(sealed, ""), std::nullopt);
  EXPECT_EQ(b.open(sealed, "factor:1"), "secret");
}

TEST(SecretBox, OldKeyOpensAndAsksForReseal) {
  const SecretBox before = box(kKeyA);
  const std::string old_sealed = before.seal("secret", "ad");

  const SecretBox after = box(kKeyB, {kKeyA});
  EXPECT_NE(after.current_key_id(), before.current_key_id());
  EXPECT_EQ(after.open(old_sealed, "ad"), "secret");
  EXPECT_TRUE(after.needs_reseal(old_sealed));

  const std::string resealed = after.seal(*after.open(old_sealed, "ad"), "ad");
  EXPECT_FALSE(after.needs_reseal(resealed));
  EXPECT_EQ(after.open(resealed, "ad"), "secret");
  // The old box cannot read what the new key sealed.
  EXPECT_EQ(before.open(resealed, "ad"), std::nullopt);
  EXPECT_FALSE(before.needs_reseal(resealed));  // unknown key: nothing to re-seal with
}

TEST(SecretBox, UnknownKeyIdRefused) {
  const SecretBox a = box(kKeyA);
  const SecretBox b = box(kKeyB);
  const std::string sealed = a.seal("secret", "ad");
  EXPECT_EQ(b.open(sealed, "ad"), std::nullopt);
  // Relabelling the value with B's key id makes B try its key: still refused.
  const std::string relabelled = "v1." + b.current_key_id() + sealed.substr(11);
  EXPECT_EQ(b.open(relabelled, "ad"), std::nullopt);
}

TEST(SecretBox, KeyLengthChecked) {
  EXPECT_FALSE(SecretBox::from_keys(std::string(31, 'k')).has_value());
  EXPECT_FALSE(SecretBox::from_keys(std::string(33, 'k')).has_value());
  EXPECT_FALSE(SecretBox::from_keys("").has_value());
  EXPECT_FALSE(SecretBox::from_keys(kKeyA, {std::string(16, 'k')}).has_value());
  // Listing the current key among the old ones is harmless.
  auto b = SecretBox::from_keys(kKeyA, {kKeyA});
  ASSERT_TRUE(b.has_value());
  EXPECT_FALSE(b->needs_reseal(b->seal("x", "")));
}

TEST(SecretBox, MoveKeepsWorking) {
  SecretBox a = box(kKeyA);
  const std::string sealed = a.seal("secret", "ad");
  SecretBox b = std::move(a);
  EXPECT_EQ(b.open(sealed, "ad"), "secret");
  SecretBox c = box(kKeyB);
  c = std::move(b);
  EXPECT_EQ(c.open(sealed, "ad"), "secret");
}

// --- key files ---------------------------------------------------------------

class SecretBoxFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "secret_box_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  void write(const std::string& name, const std::string& content, mode_t mode) const {
    const std::string p = path(name);
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
    ASSERT_EQ(::chmod(p.c_str(), mode), 0);
  }

  std::string read(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string dir_;
};

TEST_F(SecretBoxFiles, CreatesAMissingKeyFileWithMode0600) {
  const std::string p = path("current.key");
  auto b = SecretBox::from_files(p, {}, true);
  ASSERT_TRUE(b.has_value()) << b.error();
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string text = read("current.key");
  EXPECT_TRUE(std::regex_match(text, std::regex("[A-Za-z0-9+/]{43}=\n"))) << text;

  // Loading again reads the same key (same id, old values still open).
  const std::string sealed = b->seal("secret", "ad");
  auto again = SecretBox::from_files(p, {}, true);
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_EQ(again->current_key_id(), b->current_key_id());
  EXPECT_EQ(again->open(sealed, "ad"), "secret");
}

TEST_F(SecretBoxFiles, MissingFileWithoutCreateIsAnError) {
  auto b = SecretBox::from_files(path("nope.key"), {}, false);
  ASSERT_FALSE(b.has_value());
  EXPECT_NE(b.error().find("nope.key"), std::string::npos) << b.error();
  struct stat st {};
  EXPECT_NE(::stat(path("nope.key").c_str(), &st), 0);  // and nothing was created
}

TEST_F(SecretBoxFiles, GroupOrWorldReadableRefused) {
  write("loose.key", crypto::base64_encode(kKeyA) + "\n", 0644);
  auto b = SecretBox::from_files(path("loose.key"), {}, false);
  ASSERT_FALSE(b.has_value());
  EXPECT_NE(b.error().find("0644"), std::string::npos) << b.error();
  EXPECT_NE(b.error().find("chmod 600"), std::string::npos) << b.error();

  write("group.key", crypto::base64_encode(kKeyA) + "\n", 0640);
  EXPECT_FALSE(SecretBox::from_files(path("group.key"), {}, true).has_value());
  // create_if_missing never rewrites or "fixes" an existing file.
  EXPECT_EQ(read("group.key"), crypto::base64_encode(kKeyA) + "\n");

  write("tight.key", crypto::base64_encode(kKeyA) + "\n", 0600);
  write("old_loose.key", crypto::base64_encode(kKeyB) + "\n", 0604);
  EXPECT_FALSE(SecretBox::from_files(path("tight.key"), {path("old_loose.key")}, false));
}

TEST_F(SecretBoxFiles, ReadsKeysWithAndWithoutNewline) {
  write("a.key", crypto::base64_encode(kKeyA), 0600);
  write("b.key", crypto::base64_encode(kKeyB) + "\n", 0400);
  auto b = SecretBox::from_files(path("b.key"), {path("a.key")}, false);
  ASSERT_TRUE(b.has_value()) << b.error();
  EXPECT_EQ(b->current_key_id(), crypto::sha256_hex(kKeyB).substr(0, 8));
  const std::string old_sealed = box(kKeyA).seal("secret", "ad");
  EXPECT_EQ(b->open(old_sealed, "ad"), "secret");
  EXPECT_TRUE(b->needs_reseal(old_sealed));
}

TEST_F(SecretBoxFiles, WrongLengthOrEncodingRefused) {
  write("short.key", crypto::base64_encode(std::string(31, 'k')) + "\n", 0600);
  write("long.key", crypto::base64_encode(std::string(33, 'k')) + "\n", 0600);
  write("empty.key", "", 0600);
  write("garbage.key", std::string(43, '!') + "=\n", 0600);
  write("urlsafe.key", crypto::base64url_encode(std::string(32, '\xff')) + "\n", 0600);
  write("twolines.key", crypto::base64_encode(kKeyA) + "\n\n", 0600);
  for (const char* name :
       {"short.key", "long.key", "empty.key", "garbage.key", "urlsafe.key", "twolines.key"}) {
    auto b = SecretBox::from_files(path(name), {}, false);
    ASSERT_FALSE(b.has_value()) << name;
    EXPECT_NE(b.error().find("32 bytes"), std::string::npos) << name << ": " << b.error();
  }
}

TEST_F(SecretBoxFiles, DirectoryIsNotAKeyFile) {
  std::filesystem::create_directory(path("dir.key"));
  ::chmod(path("dir.key").c_str(), 0700);
  EXPECT_FALSE(SecretBox::from_files(path("dir.key"), {}, true).has_value());
}

}  // namespace
}  // namespace stepup::factors
