// common/files.h — small whole-file reads and private-file writes.
//
// Promise:
//  * write_private_file() writes `content` to a temporary file (mode 0600) beside `path`,
//    fsyncs it and renames it into place: readers see the old or the new content, never a
//    mix, and the file is never readable by group or others. Parent directories it creates
//    get mode 0700. Errors: "io_error" naming the path.
//  * read_small_file() refuses files larger than `max_size` ("too_large") before reading
//    them; "not_found" when the file does not exist; "io_error" otherwise.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace beemesh {

Result<void> write_private_file(const std::filesystem::path& path, std::string_view content);
Result<std::string> read_small_file(const std::filesystem::path& path, size_t max_size);

}  // namespace beemesh
