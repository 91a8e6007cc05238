#include "core/io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace vigap {
namespace {

std::string temporary_path_for(const std::string& path) {
  return path + ".tmp-" + std::to_string(static_cast<long>(::getpid()));
}

/// Throws std::runtime_error for `path` with the current errno, after removing `temporary`.
[[noreturn]] void fail(const std::string& path, const std::string& step, const std::string& temporary) {
  const std::string reason = std::strerror(errno);
  if (!temporary.empty()) ::unlink(temporary.c_str());
  throw std::runtime_error("cannot write '" + path + "': " + step + " failed: " + reason);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string temporary = temporary_path_for(path);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) fail(path, "creating '" + temporary + "'", "");
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      errno = saved;
      fail(path, "writing '" + temporary + "'", temporary);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    fail(path, "fsync of '" + temporary + "'", temporary);
  }
  if (::close(fd) != 0) fail(path, "closing '" + temporary + "'", temporary);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) fail(path, "renaming '" + temporary + "'", temporary);
}

void check_writable_output_path(const std::string& path) {
  if (path.empty()) throw std::invalid_argument("output path '': expected a file name, found an empty string");
  const std::filesystem::path file(path);
  const std::filesystem::path directory = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec))
    throw std::invalid_argument("output path '" + path + "': expected directory '" + directory.string() +
                                "' to exist, found " +
                                (std::filesystem::exists(directory, ec) ? "a non-directory" : "nothing"));
  if (std::filesystem::is_directory(file, ec))
    throw std::invalid_argument("output path '" + path + "': expected a file name, found a directory");
  const std::string probe = temporary_path_for(path);
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0)
    throw std::invalid_argument("output path '" + path + "': expected a writable directory, found that '" +
                                probe + "' cannot be created: " + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace vigap
