// The zip reader on archives written by a minimal stored-zip writer and by torch.save (ZIP64
// records, padded local headers) and Python's zipfile (deflate), and on corrupted ones.
#include "core/io/zip_archive.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "core/io/state_dict_file.hpp"
#include "support/torch_fixtures.hpp"

namespace vigap {
namespace {

std::string error_of(const std::string& bytes) {
  try {
    const ZipArchive archive(bytes, "a.zip");
    for (const ZipEntry& e : archive.entries()) archive.read(e);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(ZipArchive, ReadsStoredEntries) {
  const std::string bytes = testing::stored_zip({{"m/data.pkl", "abc"}, {"m/data/0", std::string(10, '\x01')}});
  const ZipArchive archive(bytes, "a.zip");
  ASSERT_EQ(archive.entries().size(), 2u);
  ASSERT_NE(archive.find("m/data/0"), nullptr);
  EXPECT_EQ(archive.read(*archive.find("m/data.pkl")), "abc");
  EXPECT_EQ(archive.read(*archive.find("m/data/0")), std::string(10, '\x01'));
  EXPECT_EQ(archive.find("m/data/1"), nullptr);
}

TEST(ZipArchive, ReadsTorchSaveAndDeflatedArchives) {
  const std::string dir = testing::torch_fixture_directory();
  ASSERT_FALSE(dir.empty());
  const std::string saved = read_binary_file(dir + "/strided.pt");
  const ZipArchive archive(saved, "strided.pt");
  ASSERT_NE(archive.find("strided/data.pkl"), nullptr);
  EXPECT_EQ(archive.read(*archive.find("strided/version")), "3\n");
  const std::string deflated = read_binary_file(dir + "/deflated.pt");
  const ZipArchive re_zipped(deflated, "deflated.pt");
  ASSERT_NE(re_zipped.find("renamed folder/data/0"), nullptr);
  EXPECT_EQ(re_zipped.find("renamed folder/data/0")->method, 8);
  EXPECT_EQ(re_zipped.read(*re_zipped.find("renamed folder/data/0")), archive.read(*archive.find("strided/data/0")));
}

TEST(ZipArchive, RefusesCorruptArchives) {
  const std::string good = testing::stored_zip({{"m/data.pkl", "abcdef"}});
  EXPECT_EQ(error_of("PK\x03\x04 not a zip"), "zip archive 'a.zip': no end-of-central-directory record (not a zip file, or truncated)");
  EXPECT_EQ(error_of(good.substr(0, good.size() - 5)),
            "zip archive 'a.zip': no end-of-central-directory record (not a zip file, or truncated)");
  std::string flipped = good;
  flipped[30 + 10 + 2] ^= 0x20;  // a byte of the entry's data
  EXPECT_EQ(error_of(flipped).substr(0, 57), "zip archive 'a.zip', entry 'm/data.pkl': CRC-32 mismatch ");
  std::string method = good;
  method[46 + 10] = 12;  // the central header's method: bzip2
  EXPECT_EQ(error_of(method),
            "zip archive 'a.zip', entry 'm/data.pkl': expected compression method 0 (stored) or 8 (deflated), found 12");
  std::string offset = good;
  offset[46 + 42] = 9;  // the central header's local-header offset
  EXPECT_EQ(error_of(offset), "zip archive 'a.zip': expected the signature of the local header of entry 'm/data.pkl' at "
                              "offset 9, found 0x0");
  std::string size = good;
  size[46 + 20] = size[46 + 24] = 100;  // compressed and uncompressed sizes beyond the file
  EXPECT_EQ(error_of(size), "zip archive 'a.zip': the data of entry 'm/data.pkl' at offset 40 needs 100 bytes, found only "
                            "84 before the end of the file (truncated?)");
}

}  // namespace
}  // namespace vigap
