#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace beemesh {

namespace {
Error io_error(const std::filesystem::path& path, std::string_view what) {
  return make_error("io_error",
                    path.string() + ": " + std::string(what) + ": " + std::strerror(errno));
}
}  // namespace

Result<void> write_private_file(const std::filesystem::path& path, std::string_view content) {
  auto parent = path.parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent)) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return make_error("io_error", parent.string() + ": " + ec.message());
    ::chmod(parent.c_str(), 0700);
  }
  auto tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error(tmp, "create");
  size_t done = 0;
  while (done < content.size()) {
    auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto err = io_error(tmp, "write");
      ::close(fd);
      ::unlink(tmp.c_str());
      return err;
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
    auto err = io_error(tmp, "fsync");
    ::close(fd);
    ::unlink(tmp.c_str());
    return err;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = io_error(path, "rename");
    ::unlink(tmp.c_str());
    return err;
  }
  return {};
}

Result<std::string> read_small_file(const std::filesystem::path& path, size_t max_size) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return make_error("not_found", path.string() + ": no such file");
    }
    return make_error("io_error", path.string() + ": " + ec.message());
  }
  if (size > max_size) {
    return make_error("too_large", path.string() + ": " + std::to_string(size) +
                                       " bytes, at most " + std::to_string(max_size));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error(path, "open");
  std::ostringstream out;
  out << in.rdbuf();
  auto text = out.str();
  if (text.size() > max_size) return make_error("too_large", path.string() + ": grew while read");
  return text;
}

}  // namespace beemesh
