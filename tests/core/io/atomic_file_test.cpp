#include "core/io/atomic_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "support/expect_throw_message.hpp"
#include "support/temporary_directory.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;
using testing::TemporaryDirectory;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(AtomicFile, WritesAndReplacesWholeContents) {
  TemporaryDirectory dir;
  const std::string path = dir.file("out.bin");
  write_file_atomically(path, std::string("first\0version", 13));
  EXPECT_EQ(read_all(path), std::string("first\0version", 13));
  write_file_atomically(path, "2");
  EXPECT_EQ(read_all(path), "2");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFile, FailureNamesPathAndLeavesNoTemporary) {
  TemporaryDirectory dir;
  const std::string missing = dir.file("no-such-dir/out.json");
  expect_throw_message<std::runtime_error>([&] { write_file_atomically(missing, "x"); },
                                           {missing, "No such file or directory"});
  // The rename fails when the target is a directory: the temporary must be removed.
  std::filesystem::create_directory(dir.file("taken"));
  expect_throw_message<std::runtime_error>([&] { write_file_atomically(dir.file("taken"), "x"); },
                                           {dir.file("taken"), "renaming"});
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"taken"});
}

TEST(AtomicFile, CheckWritableOutputPathDoesNotCreateTheFile) {
  TemporaryDirectory dir;
  check_writable_output_path(dir.file("result.json"));
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicFile, CheckWritableOutputPathRejectsMissingDirectoryAndDirectories) {
  TemporaryDirectory dir;
  const std::string missing = dir.file("absent/result.json");
  expect_throw_message<std::invalid_argument>([&] { check_writable_output_path(missing); },
                                              {missing, dir.file("absent"), "to exist"});
  expect_throw_message<std::invalid_argument>([&] { check_writable_output_path(dir.path().string()); },
                                              {dir.path().string(), "found a directory"});
  EXPECT_THROW(check_writable_output_path(""), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
