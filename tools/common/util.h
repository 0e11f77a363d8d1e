#pragma once
// Small helpers shared by the tools: the port file, process CPU time, wall-clock dates.

#include <cstdarg>
#include <cstdint>
#include <string>

namespace smppgw::tools {

// Writes "PORT\n" to path atomically (temporary file + rename), so a reader polling for the file
// never sees it half-written. False on error.
bool writePortFile(const std::string& path, uint16_t port);

struct CpuTimes {
  double user_s = 0;
  double sys_s = 0;
};
CpuTimes processCpu();

// Seconds since the Unix epoch (vDSO clock; no syscall).
int64_t unixNow();

// One log line on stderr: "<tool>: <message>". The tools' log() methods share it.
void vlogLine(const char* tool, const char* fmt, va_list ap);

}  // namespace smppgw::tools
