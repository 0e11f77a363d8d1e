# Compiles one-line probes "#include <header>" with exactly the flags a target's own sources get
# (taken from compile_commands.json), and checks that every ALLOW header compiles and every DENY
# header is not found. Run by CTest (tests/layers/CMakeLists.txt):
#
#   cmake -DCOMPILE_COMMANDS=... -DTARGET=smppgw_codec -DWORK_DIR=... \
#         -DALLOW=codec/pdu.h -DDENY=gateway/gateway.h,net/loop.h -P check_includes.cmake
#
# A DENY probe passes only when the compiler says the header itself does not exist: failing for
# any other reason (a typo, a missing flag) would prove nothing about the include roots.
cmake_minimum_required(VERSION 3.25)

foreach(var COMPILE_COMMANDS TARGET WORK_DIR ALLOW)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_includes: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${COMPILE_COMMANDS}")
  message(FATAL_ERROR "check_includes: ${COMPILE_COMMANDS} is missing "
                      "(CMAKE_EXPORT_COMPILE_COMMANDS needs the Ninja or Makefile generator)")
endif()
string(REPLACE "," ";" ALLOW "${ALLOW}")
string(REPLACE "," ";" DENY "${DENY}")

# The compile command of one of the target's sources.
file(READ "${COMPILE_COMMANDS}" db)
string(JSON count LENGTH "${db}")
math(EXPR last "${count} - 1")
set(command "")
foreach(i RANGE ${last})
  string(JSON entry_command GET "${db}" ${i} command)
  string(FIND "${entry_command}" "/CMakeFiles/${TARGET}.dir/" at)
  if(at GREATER -1)
    set(command "${entry_command}")
    string(JSON directory GET "${db}" ${i} directory)
    break()
  endif()
endforeach()
if(command STREQUAL "")
  message(FATAL_ERROR "check_includes: no source of ${TARGET} in ${COMPILE_COMMANDS}")
endif()

# Keep the compiler and every flag; drop the output, dependency files and the source.
separate_arguments(args UNIX_COMMAND "${command}")
set(flags "")
set(skip_next FALSE)
foreach(arg IN LISTS args)
  if(skip_next)
    set(skip_next FALSE)
  elseif(arg MATCHES "^-(o|c|MF|MT|MQ)$")
    set(skip_next TRUE)
  elseif(NOT arg MATCHES "^-(MD|MMD)$")
    list(APPEND flags "${arg}")
  endif()
endforeach()

set(failures 0)
set(n 0)
file(MAKE_DIRECTORY "${WORK_DIR}")
foreach(kind ALLOW DENY)
  foreach(header IN LISTS ${kind})
    math(EXPR n "${n} + 1")
    set(probe "${WORK_DIR}/probe_${n}.cc")
    file(WRITE "${probe}" "#include \"${header}\"\n")
    execute_process(COMMAND ${flags} -fsyntax-only "${probe}"
                    WORKING_DIRECTORY "${directory}"
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(kind STREQUAL "ALLOW")
      if(rc EQUAL 0)
        message(STATUS "ok: ${TARGET} may include ${header}")
      else()
        message(STATUS "FAIL: ${TARGET} cannot include ${header}, which it links:\n${err}")
        math(EXPR failures "${failures} + 1")
      endif()
    else()
      string(FIND "${err}" "${header}" named)
      if(NOT rc EQUAL 0 AND named GREATER -1
         AND (err MATCHES "No such file or directory" OR err MATCHES "file not found"))
        message(STATUS "ok: ${TARGET} cannot include ${header}")
      elseif(rc EQUAL 0)
        message(STATUS "FAIL: ${TARGET} can include ${header}, a folder it must not depend on")
        math(EXPR failures "${failures} + 1")
      else()
        message(STATUS "FAIL: ${TARGET} including ${header} failed for another reason:\n${err}")
        math(EXPR failures "${failures} + 1")
      endif()
    endif()
  endforeach()
endforeach()
if(failures GREATER 0)
  message(FATAL_ERROR "${failures} of ${n} include probes for ${TARGET} failed")
endif()
