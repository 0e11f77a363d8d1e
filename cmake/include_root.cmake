# Include roots: each target sees only its own folder and the folders of the targets it links.
#
# Sources include headers by their path from the project root ("codec/pdu.h"), so exporting the
# project root would let any file include any header. Instead each target gets a directory of its
# own under BUILD/include/<target>/ holding one symbolic link, <folder> -> the source folder; the
# directory is PUBLIC (INTERFACE for header-only targets), so it reaches exactly the targets that
# link this one. A header of a folder the target does not link is then "No such file", at compile
# time (tests/layers checks it).
#
#   smppgw_include_root(<target> <folder> [PUBLIC|PRIVATE|INTERFACE])
#
# <folder> is relative to the project root and may be nested ("tools/common").
function(smppgw_include_root target folder)
  set(scope PUBLIC)
  if(ARGC GREATER 2)
    set(scope ${ARGV2})
  endif()
  set(root ${PROJECT_BINARY_DIR}/include/${target})
  set(link ${root}/${folder})
  set(source ${PROJECT_SOURCE_DIR}/${folder})
  if(NOT IS_DIRECTORY ${source})
    message(FATAL_ERROR "smppgw_include_root: ${source} is not a directory")
  endif()
  get_filename_component(parent ${link} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  # Recreated on every configure, so a moved source tree or a replaced link never goes stale.
  file(REMOVE ${link})
  file(CREATE_LINK ${source} ${link} SYMBOLIC)
  target_include_directories(${target} ${scope} ${root})
endfunction()
