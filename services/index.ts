import type { ServiceSchema } from "moleculer";
import ApiService from "./api.service";
import BrowserPoolService from "./browser-pool.service";
import ProfileService from "./profile.service";
import ResourceGuardService from "./resource-guard.service";
import SchedulerService from "./scheduler.service";
import SessionManagerService from "./session-manager.service";

/** Every service a process can run, by the name `SERVICES` uses. */
export const SERVICE_SCHEMAS: Record<string, ServiceSchema<any>> = {
	api: ApiService,
	scheduler: SchedulerService,
	profile: ProfileService,
	"session-manager": SessionManagerService,
	"browser-pool": BrowserPoolService,
	"resource-guard": ResourceGuardService
};
