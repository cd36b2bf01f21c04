# Install rules: the public header, both libraries, a pkg-config file and a
# CMake package config so that find_package(tricolor) works from the prefix.
include(CMakePackageConfigHelpers)

install(FILES ${PROJECT_SOURCE_DIR}/include/tricolor.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS tricolor_static tricolor_shared EXPORT tricolorTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT tricolorTargets NAMESPACE tricolor::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tricolor)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tricolorConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tricolorConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tricolor)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tricolorConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tricolorConfig.cmake
  ${PROJECT_BINARY_DIR}/tricolorConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tricolor)

# tricolor.pc finds the prefix from its own place (pkg-config's ${pcfiledir}):
# the prefix given to `cmake --install --prefix` is not known at configure
# time, so a configured absolute path would point at the wrong tree.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(FATAL_ERROR "tricolor.pc needs CMAKE_INSTALL_LIBDIR and CMAKE_INSTALL_INCLUDEDIR relative to the prefix")
endif()
file(RELATIVE_PATH TC_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" TC_PC_TO_PREFIX "${TC_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/tricolor.pc.in ${PROJECT_BINARY_DIR}/tricolor.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tricolor.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
